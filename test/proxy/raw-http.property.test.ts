// Schoolgate has no chunked-body parser of its own: Node's llhttp parses (and refuses) chunked
// framing on both sides, and the proxy lets Node re-frame bodies (forward-headers.ts). The one
// piece of framing code in the project is the raw-HTTP test helper that reads replies off a
// bare socket (test/helpers/raw-http.ts), which the proxy's own tests rely on. These are its
// properties: any chunking of a body reads back as that body, and no bytes make it hang or
// fail with anything but an Error. Fixed seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReply } from '../helpers/raw-http.js';

const RUNS = { numRuns: 1000, seed: 1208 };
const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';

/** A body cut into chunks at the given points, each size in hex of either case, maybe with an extension. */
function chunked(body: string, cuts: readonly number[], upper: boolean, extension: string): string {
  const bounds = [...new Set([0, ...cuts.map((c) => c % (body.length + 1)), body.length])].sort((a, b) => a - b);
  let out = '';
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = body.slice(bounds[i], bounds[i + 1]);
    if (part === '') continue;
    const size = part.length.toString(16);
    out += `${upper ? size.toUpperCase() : size}${extension}\r\n${part}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

describe('parseReply: chunked bodies', () => {
  it('reads back any body, however it is chunked', () => {
    const body = fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s, 'utf8').toString('latin1'));
    fc.assert(fc.property(body, fc.array(fc.nat(400), { maxLength: 8 }), fc.boolean(), fc.constantFrom('', ';x=1', ';name="v"', ' '), (b, cuts, upper, ext) => {
      expect(parseReply(HEAD + chunked(b, cuts, upper, ext)).body).toBe(b);
    }), RUNS);
  });

  it('on any bytes after the head, returns or throws an Error, and never hangs', () => {
    const piece = fc.constantFrom('0', '5', 'a', 'F', '-', '-ff', '+1', '0x10', ' ', ';', '\r\n', '\r', '\n', 'hello', 'ffffffffffff', '\u0000');
    const junk = fc.oneof(fc.array(piece, { maxLength: 16 }).map((p) => p.join('')), fc.string({ unit: 'binary', maxLength: 60 }));
    fc.assert(fc.property(junk, (rest) => {
      // A hang would time the test out; every call must come back (or throw) at once.
      try {
        const r = parseReply(HEAD + rest);
        expect(typeof r.body).toBe('string');
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
      }
    }), RUNS);
  });

  it.each([
    // regression rows: a negative size looped for ever; a chunk without its CRLF was read on
    ['-ff\r\nabc\r\n0\r\n\r\n', /bad chunk size line "-ff"/],
    ['+5\r\nhello\r\n0\r\n\r\n', /bad chunk size line/],
    ['5\r\nhelloXX0\r\n\r\n', /not followed by CRLF/],
    ['5\r\nhel', /truncated/],
  ])('refuses %j', (rest, message) => {
    expect(() => parseReply(HEAD + rest)).toThrow(message);
  });
});
