// Hop-by-hop handling, Via, X-Forwarded-For, Max-Forwards, Upgrade and Expect, row by row.
// Headers are written as "Name: value" lines so each row reads like the message it stands for.
import { describe, expect, it } from 'vitest';
import { answersItself, forwardRequestHeaders, forwardResponseHeaders, type ForwardOptions } from '../../src/proxy/forward-headers.js';

function raw(lines: readonly string[]): string[] {
  return lines.flatMap((l) => {
    const at = l.indexOf(':');
    return [l.slice(0, at), l.slice(at + 1).trim()];
  });
}

function lines(list: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) out.push(`${list[i]}: ${list[i + 1]}`);
  return out;
}

const OPTS: ForwardOptions = { via: 'schoolgate', xForwardedFor: false, clientAddress: '10.1.2.3' };
const VIA = 'Via: 1.1 schoolgate';

function request(input: readonly string[], opts: Partial<ForwardOptions> = {}, version: '1.0' | '1.1' = '1.1') {
  const r = forwardRequestHeaders(raw(input), version, { ...OPTS, ...opts });
  return { ...r, lines: lines(r.headers) };
}

const HOST = 'Host: example.com';

describe('request: hop-by-hop fields are dropped', () => {
  // Every field RFC 9110 7.6.1 (and the brief) calls hop-by-hop, each in three spellings.
  const hopByHop: [string, string][] = [
    ['Connection', 'keep-alive'],
    ['Keep-Alive', 'timeout=5, max=100'],
    ['Proxy-Connection', 'keep-alive'],
    ['Proxy-Authorization', 'Basic dXNlcjpwYXNz'],
    ['Proxy-Authenticate', 'Basic realm="school"'],
    ['TE', 'trailers'],
    ['Trailer', 'Expires'],
    ['Transfer-Encoding', 'chunked'],
    ['Upgrade', 'websocket'],
  ];
  const rows = hopByHop.flatMap(([name, value]) => [name, name.toLowerCase(), name.toUpperCase()].map((n) => [n, value] as const));
  it.each(rows)('%s', (name, value) => {
    const r = request([HOST, `${name}: ${value}`, 'Accept: */*']);
    expect(r.lines).toEqual([HOST, 'Accept: */*', VIA]);
  });

  it('drops all of them at once, repeated, keeping every end-to-end field in order', () => {
    const input = [HOST, ...hopByHop.map(([n, v]) => `${n}: ${v}`), 'Accept: */*', ...hopByHop.map(([n, v]) => `${n.toLowerCase()}: ${v}`), 'Cookie: a=1'];
    expect(request(input).lines).toEqual([HOST, 'Accept: */*', 'Cookie: a=1', VIA]);
  });
});

describe('request: fields named by Connection', () => {
  it.each([
    ['one custom field', ['Connection: X-Secret', 'X-Secret: 1', 'X-Other: 2'], ['X-Other: 2']],
    ['case differs between option and field', ['Connection: x-secret', 'X-SECRET: 1'], []],
    ['option upper-case, field lower-case', ['Connection: X-SECRET', 'x-secret: 1'], []],
    ['several options in one field', ['Connection: close, X-A, X-B', 'X-A: 1', 'X-B: 2', 'X-C: 3'], ['X-C: 3']],
    ['options spread over repeated Connection fields', ['Connection: X-A', 'X-A: 1', 'Connection: X-B', 'X-B: 2'], []],
    ['odd whitespace and empty list elements', ['Connection: ,  X-A ,, X-B,', 'X-A: 1', 'X-B: 2', 'X-C: 3'], ['X-C: 3']],
    ['a field named but repeated', ['Connection: X-A', 'X-A: 1', 'X-A: 2'], []],
    ['an option naming no field', ['Connection: X-Missing', 'Accept: */*'], ['Accept: */*']],
    ['close and keep-alive are options, not fields', ['Connection: close, keep-alive', 'Accept: */*'], ['Accept: */*']],
    ['an end-to-end field named is removed (the client asked)', ['Connection: Cookie', 'Cookie: a=1'], []],
    ['Connection naming itself', ['Connection: Connection', 'Accept: */*'], ['Accept: */*']],
    ['HTTP2-Settings named alongside Upgrade', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__'], []],
    // Host is never a connection option: without it the upstream request cannot be routed.
    ['Host named is kept', ['Connection: Host'], []],
    ['Proxy-Connection options do not name fields', ['Proxy-Connection: X-A', 'X-A: 1'], ['X-A: 1']],
  ])('%s', (_label, input, want) => {
    expect(request([HOST, ...input]).lines).toEqual([HOST, ...want, VIA]);
  });

  it('a client naming Via loses its own Via, but ours is still added', () => {
    expect(request([HOST, 'Connection: Via', 'Via: 1.1 spoof']).lines).toEqual([HOST, VIA]);
  });

  it('a client naming X-Forwarded-For cannot strip the address we add', () => {
    expect(request([HOST, 'Connection: X-Forwarded-For', 'X-Forwarded-For: 6.6.6.6'], { xForwardedFor: true }).lines)
      .toEqual([HOST, VIA, 'X-Forwarded-For: 10.1.2.3']);
  });
});

describe('request: Via', () => {
  it.each([
    ['added when absent, HTTP/1.1', [HOST], '1.1', [HOST, 'Via: 1.1 schoolgate']],
    ['added when absent, HTTP/1.0', [HOST], '1.0', [HOST, 'Via: 1.0 schoolgate']],
    ['appended to one Via', [HOST, 'Via: 1.1 upstream'], '1.1', [HOST, 'Via: 1.1 upstream, 1.1 schoolgate']],
    ['appended to the last of repeated Via, others untouched', ['Via: 1.0 a', HOST, 'via: 1.1 b (Squid)'], '1.1', ['Via: 1.0 a', HOST, 'via: 1.1 b (Squid), 1.1 schoolgate']],
    ['appended to a comma list', [HOST, 'VIA: 1.0 a, 1.1 b'], '1.0', [HOST, 'VIA: 1.0 a, 1.1 b, 1.0 schoolgate']],
    ['an empty Via gets just ours', [HOST, 'Via: '], '1.1', [HOST, 'Via: 1.1 schoolgate']],
    ['our own name already present is still appended (loops are for the caller)', [HOST, 'Via: 1.1 schoolgate'], '1.1', [HOST, 'Via: 1.1 schoolgate, 1.1 schoolgate']],
  ] as const)('%s', (_label, input, version, want) => {
    expect(request(input, {}, version).lines).toEqual(want);
  });

  it.each(['schoolgate', 'proxy.school.sch.uk', 'schoolgate:3128', 'sg-1'])('accepts pseudonym %s', (via) => {
    expect(request([HOST], { via }).lines).toEqual([HOST, `Via: 1.1 ${via}`]);
  });

  it.each(['', 'school gate', 'a,b', 'x\r\nX-Evil: 1', 'sg:99999999', '(sg)'])('rejects pseudonym %j', (via) => {
    expect(() => request([HOST], { via })).toThrow(RangeError);
  });
});

describe('request: X-Forwarded-For', () => {
  it.each([
    ['off: nothing added', [HOST], false, '10.1.2.3', [HOST, VIA]],
    ['off: the client\'s own passes untouched', [HOST, 'X-Forwarded-For: 192.0.2.1'], false, '10.1.2.3', [HOST, 'X-Forwarded-For: 192.0.2.1', VIA]],
    ['on: added', [HOST], true, '10.1.2.3', [HOST, VIA, 'X-Forwarded-For: 10.1.2.3']],
    ['on: appended to an existing one', [HOST, 'X-Forwarded-For: 192.0.2.1'], true, '10.1.2.3', [HOST, 'X-Forwarded-For: 192.0.2.1, 10.1.2.3', VIA]],
    ['on: appended to the last of repeated ones', ['x-forwarded-for: 192.0.2.1', HOST, 'X-FORWARDED-FOR: 192.0.2.2'], true, '10.1.2.3', ['x-forwarded-for: 192.0.2.1', HOST, 'X-FORWARDED-FOR: 192.0.2.2, 10.1.2.3', VIA]],
    ['on: IPv4-mapped IPv6 written as IPv4', [HOST], true, '::ffff:10.9.8.7', [HOST, VIA, 'X-Forwarded-For: 10.9.8.7']],
    ['on: IPv4-mapped IPv6 in capitals', [HOST], true, '::FFFF:10.9.8.7', [HOST, VIA, 'X-Forwarded-For: 10.9.8.7']],
    ['on: IPv6 as is', [HOST], true, '2001:db8::5', [HOST, VIA, 'X-Forwarded-For: 2001:db8::5']],
  ] as const)('%s', (_label, input, xForwardedFor, clientAddress, want) => {
    expect(request(input, { xForwardedFor, clientAddress }).lines).toEqual(want);
  });

  it.each(['', 'unknown', '10.1.2', '10.1.2.3\r\nX-Evil: 1', '::ffff:999.1.1.1'])('on: rejects client address %j', (clientAddress) => {
    expect(() => request([HOST], { xForwardedFor: true, clientAddress })).toThrow(RangeError);
  });

  it('off: a bad client address is not looked at', () => {
    expect(request([HOST], { xForwardedFor: false, clientAddress: '' }).lines).toEqual([HOST, VIA]);
  });
});

describe('request: Max-Forwards', () => {
  it.each([
    // [label, fields, maxForwards, what is sent]
    ['absent', [], null, []],
    ['0: nothing left, header stays 0', ['Max-Forwards: 0'], -1, ['Max-Forwards: 0']],
    ['1 becomes 0', ['Max-Forwards: 1'], 0, ['Max-Forwards: 0']],
    ['2 becomes 1', ['Max-Forwards: 2'], 1, ['Max-Forwards: 1']],
    ['10 becomes 9', ['max-forwards: 10'], 9, ['max-forwards: 9']],
    ['leading zeros', ['Max-Forwards: 007'], 6, ['Max-Forwards: 6']],
    ['huge values are capped, not mangled', ['Max-Forwards: 99999999999999999999999'], Number.MAX_SAFE_INTEGER - 1, [`Max-Forwards: ${Number.MAX_SAFE_INTEGER - 1}`]],
    ['repeated, same value: collapsed into one', ['Max-Forwards: 3', 'MAX-FORWARDS: 03'], 2, ['Max-Forwards: 2']],
    ['repeated, different values: invalid, passed on untouched', ['Max-Forwards: 3', 'Max-Forwards: 4'], null, ['Max-Forwards: 3', 'Max-Forwards: 4']],
    ['garbage: passed on untouched', ['Max-Forwards: lots'], null, ['Max-Forwards: lots']],
    ['negative: garbage', ['Max-Forwards: -1'], null, ['Max-Forwards: -1']],
    ['decimal: garbage', ['Max-Forwards: 1.5'], null, ['Max-Forwards: 1.5']],
    ['list: garbage', ['Max-Forwards: 1, 2'], null, ['Max-Forwards: 1, 2']],
    ['hex: garbage', ['Max-Forwards: 0x10'], null, ['Max-Forwards: 0x10']],
    ['empty: garbage', ['Max-Forwards: '], null, ['Max-Forwards: ']],
    ['named in Connection: read, not passed on', ['Connection: Max-Forwards', 'Max-Forwards: 0'], -1, []],
  ] as const)('%s', (_label, input, maxForwards, sent) => {
    const r = request([HOST, ...input]);
    expect(r.maxForwards).toBe(maxForwards);
    expect(r.lines).toEqual([HOST, ...sent, VIA]);
  });
});

describe('answersItself', () => {
  it.each([
    ['OPTIONS', 'Max-Forwards: 0', true],
    ['TRACE', 'Max-Forwards: 0', true],
    ['OPTIONS', 'Max-Forwards: 00', true],
    ['OPTIONS', 'Max-Forwards: 1', false],
    ['TRACE', 'Max-Forwards: 5', false],
    ['OPTIONS', 'X-None: 1', false],
    ['OPTIONS', 'Max-Forwards: zero', false],
    ['GET', 'Max-Forwards: 0', false],
    ['POST', 'Max-Forwards: 0', false],
    ['CONNECT', 'Max-Forwards: 0', false],
    // Methods are case-sensitive (RFC 9110 9.1).
    ['options', 'Max-Forwards: 0', false],
    ['Trace', 'Max-Forwards: 0', false],
  ] as const)('%s with %s: %s', (method, field, want) => {
    expect(answersItself(method, request([HOST, field]).maxForwards)).toBe(want);
  });
});

describe('request: Upgrade', () => {
  it.each([
    // [label, fields, version, upgrade, what is sent]
    ['websocket with Connection: Upgrade', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: k'], '1.1', 'websocket', ['Connection: upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: k']],
    ['Connection: keep-alive, Upgrade (Firefox) keeps only upgrade', ['Connection: keep-alive, Upgrade', 'Upgrade: websocket'], '1.1', 'websocket', ['Connection: upgrade', 'Upgrade: websocket']],
    ['lower-case names and option', ['connection: upgrade', 'upgrade: websocket'], '1.1', 'websocket', ['connection: upgrade', 'upgrade: websocket']],
    ['upgrade option in a second Connection field', ['Connection: keep-alive', 'Upgrade: websocket', 'Connection: UPGRADE'], '1.1', 'websocket', ['Connection: upgrade', 'Upgrade: websocket']],
    ['Upgrade without the Connection option is dropped', ['Upgrade: websocket'], '1.1', null, []],
    ['Upgrade with Connection: keep-alive only is dropped', ['Connection: keep-alive', 'Upgrade: websocket'], '1.1', null, []],
    ['Connection: upgrade without Upgrade is dropped', ['Connection: upgrade'], '1.1', null, []],
    ['empty Upgrade is no upgrade', ['Connection: upgrade', 'Upgrade: '], '1.1', null, []],
    ['HTTP/1.0 cannot upgrade', ['Connection: Upgrade', 'Upgrade: websocket'], '1.0', null, []],
    ['h2c is never relayed (smuggling)', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: x'], '1.1', null, []],
    ['h2c with a version is never relayed', ['Connection: Upgrade', 'Upgrade: H2C/1'], '1.1', null, []],
    ['h2c dropped from a list, the rest relayed', ['Connection: Upgrade', 'Upgrade: h2c, websocket'], '1.1', 'websocket', ['Connection: upgrade', 'Upgrade: websocket']],
    ['several protocols over repeated fields', ['Connection: Upgrade', 'Upgrade: foo/2', 'Upgrade: websocket'], '1.1', 'foo/2, websocket', ['Connection: upgrade', 'Upgrade: foo/2, websocket']],
  ] as const)('%s', (_label, input, version, upgrade, sent) => {
    const r = request([HOST, ...input], {}, version);
    expect(r.upgrade).toBe(upgrade);
    expect(r.lines).toEqual([HOST, ...sent, `Via: ${version} schoolgate`]);
  });
});

describe('request: Expect', () => {
  it.each([
    // [label, fields, version, expectContinue, what is sent]
    ['100-continue', ['Expect: 100-continue'], '1.1', true, ['Expect: 100-continue']],
    ['any case', ['expect: 100-Continue'], '1.1', true, ['expect: 100-Continue']],
    ['absent', [], '1.1', false, []],
    ['another expectation', ['Expect: something'], '1.1', false, ['Expect: something']],
    ['in a list', ['Expect: something, 100-continue'], '1.1', true, ['Expect: something, 100-continue']],
    ['HTTP/1.0: ignored and not passed on', ['Expect: 100-continue'], '1.0', false, []],
    ['HTTP/1.0: other expectations stay', ['Expect: 100-continue, something'], '1.0', false, ['Expect: something']],
    ['named in Connection: still expected of us, not passed on', ['Connection: Expect', 'Expect: 100-continue'], '1.1', true, []],
  ] as const)('%s', (_label, input, version, expectContinue, sent) => {
    const r = request([HOST, ...input], {}, version);
    expect(r.expectContinue).toBe(expectContinue);
    expect(r.lines).toEqual([HOST, ...sent, `Via: ${version} schoolgate`]);
  });
});

describe('request: framing and HTTP/1.0', () => {
  it.each([
    ['Content-Length passes', ['Content-Length: 5'], '1.1', ['Content-Length: 5']],
    ['Transfer-Encoding dropped, the proxy re-frames', ['Transfer-Encoding: chunked'], '1.1', []],
    ['Content-Length with Transfer-Encoding is dropped too (RFC 9112 6.3)', ['Content-Length: 5', 'Transfer-Encoding: chunked'], '1.1', []],
    ['Content-Length named in Connection is dropped', ['Connection: Content-Length', 'Content-Length: 5'], '1.1', []],
    ['HTTP/1.0 keep-alive dropped', ['Connection: Keep-Alive', 'Keep-Alive: timeout=5'], '1.0', []],
    ['HTTP/1.0 Proxy-Connection dropped', ['Proxy-Connection: Keep-Alive'], '1.0', []],
    ['empty values pass', ['X-Empty: '], '1.1', ['X-Empty: ']],
    ['Forwarded (RFC 7239) passes untouched', ['Forwarded: for=192.0.2.1'], '1.1', ['Forwarded: for=192.0.2.1']],
  ] as const)('%s', (_label, input, version, sent) => {
    expect(request([HOST, ...input], {}, version).lines).toEqual([HOST, ...sent, `Via: ${version} schoolgate`]);
  });

  it('keeps original case and order of every end-to-end field', () => {
    const input = ['host: example.com', 'USER-AGENT: x', 'accept: */*', 'Cookie: a=1', 'cookie: b=2', 'X-Custom-Thing: y'];
    expect(request(input).lines).toEqual([...input, VIA]);
  });

  it('does not modify its input', () => {
    const input = raw([HOST, 'Via: 1.0 a', 'Max-Forwards: 3', 'Connection: X-A', 'X-A: 1']);
    const copy = [...input];
    forwardRequestHeaders(input, '1.1', { ...OPTS, xForwardedFor: true });
    expect(input).toEqual(copy);
  });
});

describe('malformed lists throw, naming the problem', () => {
  it.each([
    ['odd length', ['Host'], /odd length/],
    ['CR in a value', ['X-A', 'a\rb'], /X-A .*CR, LF or NUL/],
    ['LF in a value', ['X-A', 'a\nX-Evil: 1'], /X-A/],
    ['NUL in a value', ['X-A', 'a\0b'], /X-A/],
    ['space in a name', ['X A', '1'], /"X A" is not a token/],
    ['colon in a name', ['X:A', '1'], /not a token/],
    ['empty name', ['', '1'], /not a token/],
  ] as const)('%s', (_label, list, message) => {
    expect(() => forwardRequestHeaders(list, '1.1', OPTS)).toThrow(message);
    expect(() => forwardResponseHeaders(list, '1.1', 'schoolgate')).toThrow(message);
  });
});

describe('response', () => {
  function response(input: readonly string[], version: '1.0' | '1.1' = '1.1'): string[] {
    return lines(forwardResponseHeaders(raw(input), version, 'schoolgate'));
  }
  const CT = 'Content-Type: text/html';

  it.each([
    ['plain', [CT], '1.1', [CT, VIA]],
    ['HTTP/1.0 upstream', [CT], '1.0', [CT, 'Via: 1.0 schoolgate']],
    ['Connection and Keep-Alive dropped', [CT, 'Connection: keep-alive', 'Keep-Alive: timeout=5'], '1.1', [CT, VIA]],
    ['Transfer-Encoding dropped', [CT, 'Transfer-Encoding: chunked'], '1.1', [CT, VIA]],
    ['Content-Length with Transfer-Encoding dropped', [CT, 'Content-Length: 10', 'transfer-encoding: gzip, chunked'], '1.1', [CT, VIA]],
    ['Content-Length kept', [CT, 'Content-Length: 10'], '1.1', [CT, 'Content-Length: 10', VIA]],
    ['Trailer dropped', [CT, 'Trailer: Server-Timing'], '1.1', [CT, VIA]],
    ['upstream Proxy-Authenticate is for us, dropped', [CT, 'Proxy-Authenticate: Basic realm="up"'], '1.1', [CT, VIA]],
    ['Proxy-Connection dropped', [CT, 'Proxy-Connection: close'], '1.1', [CT, VIA]],
    ['TE dropped', [CT, 'TE: trailers'], '1.1', [CT, VIA]],
    ['fields named by Connection dropped', [CT, 'Connection: close, X-Backend', 'X-Backend: web3'], '1.1', [CT, VIA]],
    ['named in any case', [CT, 'CONNECTION: x-backend', 'X-BACKEND: web3'], '1.1', [CT, VIA]],
    ['Via appended', [CT, 'Via: 1.1 cdn'], '1.1', [CT, 'Via: 1.1 cdn, 1.1 schoolgate']],
    ['Via appended to the last repeat', ['Via: 1.1 a', CT, 'Via: 1.1 b'], '1.1', ['Via: 1.1 a', CT, 'Via: 1.1 b, 1.1 schoolgate']],
    ['101 websocket keeps Connection: upgrade and Upgrade', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Accept: a'], '1.1', ['Connection: upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Accept: a', VIA]],
    ['Upgrade advertised without the option dropped', [CT, 'Upgrade: h2,h2c'], '1.1', [CT, VIA]],
    ['h2c advertised with the option: only what we would relay', [CT, 'Connection: Upgrade', 'Upgrade: h2,h2c'], '1.1', [CT, 'Connection: upgrade', 'Upgrade: h2', VIA]],
    ['h2c alone advertised: dropped', [CT, 'Connection: Upgrade', 'Upgrade: h2c'], '1.1', [CT, VIA]],
    ['HTTP/1.0 upstream cannot upgrade', ['Connection: Upgrade', 'Upgrade: websocket'], '1.0', ['Via: 1.0 schoolgate']],
    ['Set-Cookie repeats kept', ['Set-Cookie: a=1', 'Set-Cookie: b=2'], '1.1', ['Set-Cookie: a=1', 'Set-Cookie: b=2', VIA]],
  ] as const)('%s', (_label, input, version, want) => {
    expect(response(input, version)).toEqual(want);
  });

  it.each(['', 'a b', 'x\ny'])('rejects pseudonym %j', (via) => {
    expect(() => forwardResponseHeaders([], '1.1', via)).toThrow(RangeError);
  });
});
