// Properties of the header rules over generated header lists: a list Node's parser could hand
// us never makes them throw, and whatever it holds, no hop-by-hop field (and nothing Connection
// names) reaches the other side. Fixed seed; plain lists, so a failure prints readably.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answersItself, forwardRequestHeaders, forwardResponseHeaders } from '../../src/proxy/forward-headers.js';

const RUNS = { numRuns: 1500, seed: 1206 };

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const OTHER = ['host', 'content-length', 'content-type', 'max-forwards', 'expect', 'via', 'x-forwarded-for', 'cookie', 'x-custom', 'x-a', 'accept'];

/** A field name as a client might spell it: any case. */
const knownName = fc.tuple(fc.constantFrom(...HOP_BY_HOP, ...OTHER), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }))
  .map(([n, up]) => Array.from(n, (c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const tokenName = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const name = fc.oneof({ weight: 3, arbitrary: knownName }, { weight: 1, arbitrary: tokenName });

/** Values as llhttp passes them: no CR, LF or NUL, no surrounding white space. */
const listValue = fc.array(fc.oneof(fc.constantFrom(...HOP_BY_HOP, ...OTHER, 'close', 'upgrade', 'Upgrade', 'websocket', 'h2c', 'h2c/1', '100-continue', '0', '1', '10', 'x-a'), tokenName), { maxLength: 4 })
  .chain((items) => fc.constantFrom(', ', ',', ' ,', ',,').map((sep) => items.join(sep)));
const freeValue = fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((v) => v.replace(/[\r\n\0]/g, '').trim());
const value = fc.oneof(listValue, freeValue, fc.constantFrom('', '5', '-1', '99999999999999999999', 'chunked', 'websocket'));
const pair = fc.tuple(name, value);
const headerList = fc.array(pair, { maxLength: 12 }).map((ps) => ps.flat());
const version = fc.constantFrom('1.0' as const, '1.1' as const);
const OPTS = { via: 'schoolgate', xForwardedFor: true, clientAddress: '::ffff:192.0.2.9' };

/** Names that must not appear in what is sent on: hop-by-hop ones, and any the received Connection fields name (Host excepted). */
function forbidden(raw: readonly string[]): Set<string> {
  const out = new Set(HOP_BY_HOP);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) if (t.trim() !== '') out.add(t.trim().toLowerCase());
  }
  out.delete('host');
  return out;
}

/** What this proxy adds itself, whatever was received: a field Connection named comes back holding only that. */
const OWN: Readonly<Record<string, RegExp>> = { via: /^1\.[01] schoolgate$/, 'x-forwarded-for': /^192\.0\.2\.9$/ };

function checkSent(raw: readonly string[], sent: readonly string[], upgradeRelayed: boolean): void {
  expect(sent.length % 2).toBe(0);
  const bad = forbidden(raw);
  const names = new Set<string>();
  for (let i = 0; i < sent.length; i += 2) {
    const n = sent[i]!.toLowerCase();
    expect(sent[i]).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
    expect(sent[i + 1]).not.toMatch(/[\r\n\0]/);
    names.add(n);
    // The one exception: a relayed upgrade keeps "Connection: upgrade" and its Upgrade field.
    if (upgradeRelayed && n === 'connection') expect(sent[i + 1]).toBe('upgrade');
    else if (upgradeRelayed && n === 'upgrade') expect(sent[i + 1]).not.toMatch(/(^|,\s*)h2c(\/|,|$)/i);
    else if (bad.has(n) && OWN[n]) expect(sent[i + 1]).toMatch(OWN[n]!);
    else expect(bad.has(n), `${sent[i]} was passed on`).toBe(false);
  }
  if (names.has('transfer-encoding')) throw new Error('Transfer-Encoding passed on');
}

describe('forwardRequestHeaders over generated header lists', () => {
  it('never throws on a list the HTTP parser could produce, and passes on no hop-by-hop field', () => {
    fc.assert(fc.property(headerList, version, (raw, v) => {
      const r = forwardRequestHeaders(raw, v, OPTS);
      checkSent(raw, r.headers, r.upgrade !== null);
      if (r.upgrade !== null) expect(v).toBe('1.1');
      // Content-Length never travels with a Transfer-Encoding the client sent.
      if (raw.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'transfer-encoding')) {
        expect(r.headers.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'content-length')).toBe(false);
      }
      // Max-Forwards sent on is never below 0, and we add ourselves to Via and X-Forwarded-For once.
      for (let i = 0; i < r.headers.length; i += 2) {
        if (r.headers[i]!.toLowerCase() === 'max-forwards' && r.maxForwards !== null) expect(Number(r.headers[i + 1])).toBeGreaterThanOrEqual(0);
      }
      const via = r.headers.filter((_, i) => i % 2 === 1 && r.headers[i - 1]!.toLowerCase() === 'via');
      expect(via.at(-1)!.endsWith(`${v} schoolgate`)).toBe(true);
      const xff = r.headers.filter((_, i) => i % 2 === 1 && r.headers[i - 1]!.toLowerCase() === 'x-forwarded-for');
      expect(xff.at(-1)!.endsWith('192.0.2.9')).toBe(true);
      expect(typeof answersItself('OPTIONS', r.maxForwards)).toBe('boolean');
    }), RUNS);
  });

  it('forwardResponseHeaders: never throws on a parser-shaped list, and passes on no hop-by-hop field', () => {
    fc.assert(fc.property(headerList, version, (raw, v) => {
      const sent = forwardResponseHeaders(raw, v, 'schoolgate');
      const upgrade = sent.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'upgrade');
      checkSent(raw, sent, upgrade);
    }), RUNS);
  });

  it('on any list at all, fails only with a RangeError that names the problem', () => {
    const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 16 }), name, value);
    const anyList = fc.array(anyString, { maxLength: 9 });
    fc.assert(fc.property(anyList, version, (raw, v) => {
      for (const call of [() => forwardRequestHeaders(raw, v, OPTS), () => forwardResponseHeaders(raw, v, 'schoolgate')]) {
        try {
          call();
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          expect((e as Error).message).toMatch(/odd length|not a token|CR, LF or NUL/);
        }
      }
    }), RUNS);
  });
});
