import { describe, expect, it } from 'vitest';
import { normaliseUrl, UrlError, urlListHost } from '../../src/classify/normalise-url.js';
import { normalisePath } from '../../src/classify/normalise-path.js';

// Every row: a way of writing an address, and the host/path a browser would really reach.
const EVASIONS: [string, string, string, string?][] = [
  // [input, host, path, query]
  ['https://example.com/', 'example.com', '/'],
  ['https://example.com', 'example.com', '/'],
  ['HTTPS://EXAMPLE.COM/Path', 'example.com', '/Path'],
  ['https://ExAmPlE.CoM/', 'example.com', '/'],
  ['https://example.com./', 'example.com', '/'],
  ['https://example.com../', 'example.com', '/'],
  ['https://www.example.com.:443/', 'www.example.com', '/'],
  ['http://example.com:80/a', 'example.com', '/a'],
  ['https://example.com:443/a', 'example.com', '/a'],
  ['https://example.com/a#fragment', 'example.com', '/a'],
  ['https://example.com/a?x=1#frag', 'example.com', '/a', 'x=1'],
  // userinfo: the host is what follows the @
  ['http://good.example@bad.example/', 'bad.example', '/'],
  ['http://good.example:pass@bad.example/x', 'bad.example', '/x'],
  ['http://user@bad.example', 'bad.example', '/'],
  // IPv4 in every notation the WHATWG parser (and so the browser) accepts
  ['http://127.0.0.1/', '127.0.0.1', '/'],
  ['http://2130706433/', '127.0.0.1', '/'],
  ['http://0x7f000001/', '127.0.0.1', '/'],
  ['http://0x7f.1/', '127.0.0.1', '/'],
  ['http://017700000001/', '127.0.0.1', '/'],
  ['http://0177.0.0.1/', '127.0.0.1', '/'],
  ['http://127.1/', '127.0.0.1', '/'],
  ['http://127.0.1/', '127.0.0.1', '/'],
  ['http://1.2.3.4./', '1.2.3.4', '/'],
  ['http://0x01.0x02.0x03.0x04/', '1.2.3.4', '/'],
  // IPv6 literals, and IPv4-mapped IPv6 reaching an IPv4 host
  ['http://[2001:DB8::1]/', '[2001:db8::1]', '/'],
  ['http://[2001:db8:0:0:0:0:0:1]:8080/', '[2001:db8::1]', '/'],
  ['http://[::ffff:1.2.3.4]/', '1.2.3.4', '/'],
  ['http://[::FFFF:7f00:1]/', '127.0.0.1', '/'],
  // IDN: Unicode and punycode forms reach the same host
  ['http://bücher.example/', 'xn--bcher-kva.example', '/'],
  ['http://BÜCHER.example/', 'xn--bcher-kva.example', '/'],
  ['http://xn--bcher-kva.example/', 'xn--bcher-kva.example', '/'],
  ['http://XN--BCHER-KVA.example/', 'xn--bcher-kva.example', '/'],
  ['http://ｅｘａｍｐｌｅ.com/', 'example.com', '/'],
  // percent-encoded hosts
  ['http://%62ad.example/', 'bad.example', '/'],
  ['http://b%61d.example/x', 'bad.example', '/x'],
  // paths: percent-encoded unreserved characters, dot segments, repeated slashes, backslashes
  ['https://example.com/%67ames/', 'example.com', '/games/'],
  ['https://example.com/%7Euser', 'example.com', '/~user'],
  ['https://example.com/a/../b', 'example.com', '/b'],
  ['https://example.com/a/./b', 'example.com', '/a/b'],
  ['https://example.com/a/%2e%2e/b', 'example.com', '/b'],
  ['https://example.com/a/%2E/b', 'example.com', '/a/b'],
  ['https://example.com/../../b', 'example.com', '/b'],
  ['https://example.com//a///b', 'example.com', '/a/b'],
  ['https://example.com/a/b/..', 'example.com', '/a/'],
  ['http://example.com\\a\\b', 'example.com', '/a/b'],
  ['https://example.com/a%2Fb', 'example.com', '/a%2Fb'],
  ['https://example.com/a%2fb', 'example.com', '/a%2Fb'],
  ['https://example.com/caf\u00e9', 'example.com', '/caf%C3%A9'],
  ['https://example.com/a b', 'example.com', '/a%20b'],
  ['https://example.com/a\tb', 'example.com', '/ab'],
  // ...also inside an escape, before it is read (found by normalise-url.property.test.ts)
  ['https://example.com/sec%7\t2et', 'example.com', '/secret'],
  ['https://example.com/a%2\nfb', 'example.com', '/a%2Fb'],
  ['https://example.com/a%\r41?x=%3\n8', 'example.com', '/aA', 'x=8'],
  ['https://example.com/file.txt', 'example.com', '/file.txt'],
  ['https://example.com/.well-known/x', 'example.com', '/.well-known/x'],
  ['https://example.com/...', 'example.com', '/...'],
  // extra slashes after the scheme are skipped by browsers
  ['https:///example.com/x', 'example.com', '/x'],
  ['https:\\\\example.com\\x', 'example.com', '/x'],
  // what browsers strip before parsing: tabs and newlines anywhere, C0 and spaces at the ends
  ['ht\ttp://bad.example/', 'bad.example', '/'],
  ['http\n://bad.example/', 'bad.example', '/'],
  [' http://bad.example/x ', 'bad.example', '/x'],
  ['\u0000http://bad.example/', 'bad.example', '/'],
  // query escapes of unreserved characters are decoded, as the server reads them
  ['http://x.example/v.php?id=%38511&a=%2f%41', 'x.example', '/v.php', 'id=8511&a=%2FA'],
  // no scheme: a bare host, host:port (CONNECT), host/path
  ['example.com', 'example.com', '/'],
  ['example.com:443', 'example.com', '/'],
  ['Example.COM/a/b', 'example.com', '/a/b'],
  ['sub.example.co.uk:8443', 'sub.example.co.uk', '/'],
  // other schemes' hosts are opaque to the WHATWG parser, which keeps their case; ours must not
  // (found by normalise-url.property.test.ts: the fast path lower-cased them, the slow one did not)
  ['foo://Example.TEST:/a', 'example.test', '/a'],
  ['EXAMPLE.testhttp://%F0%9F%98%80', '%f0%9f%98%80', '/'],
  // underscores are legal in the hosts browsers reach
  ['https://my_host.example.com/', 'my_host.example.com', '/'],
];

describe('normaliseUrl: evasions reach the same host and path', () => {
  it.each(EVASIONS)('%s', (input, host, path, query = '') => {
    const u = normaliseUrl(input);
    expect(u.host).toBe(host);
    expect(u.path).toBe(path);
    expect(u.query).toBe(query);
  });
});

describe('normaliseUrl: host types, ports and schemes', () => {
  it.each([
    ['https://example.com/', 'name', 0, 'https'],
    ['http://1.2.3.4/', 'ipv4', 0, 'http'],
    ['http://2130706433/', 'ipv4', 0, 'http'],
    ['http://[::1]/', 'ipv6', 0, 'http'],
    ['https://example.com:8443/', 'name', 8443, 'https'],
    ['http://example.com:443/', 'name', 443, 'http'],
    ['ftp://example.com/', 'name', 0, 'ftp'],
    ['example.com:8080', 'name', 8080, 'http'],
  ] as const)('%s', (input, hostType, port, scheme) => {
    const u = normaliseUrl(input);
    expect(u.hostType).toBe(hostType);
    expect(u.port).toBe(port);
    expect(u.scheme).toBe(scheme);
  });
});

describe('normaliseUrl: what cannot be parsed is a clear error', () => {
  it.each([
    ['http://'],
    ['http://exa mple.com/'],
    ['http://example.123/'],
    ['http://example.123../'],
    ['Z127.0.0.1..'],
    ['http://256.256.256.256/'],
    ['http://[::1/'],
    ['http://example.com:99999/'],
    [''],
  ])('%j', (input) => {
    expect(() => normaliseUrl(input)).toThrow(UrlError);
  });

  it('names the input in the message', () => {
    expect(() => normaliseUrl('http://[::1/')).toThrow(/not a valid URL: "http:\/\/\[::1\/"/);
  });
});

describe('the fast path and the WHATWG parser agree', () => {
  // The scanner only handles plain inputs; for those, new URL() must give the same answer.
  it.each([
    'https://www.example.com/a/b?c=d', 'http://example.org/', 'https://a.b.c.example.net:8443/x', 'https://EXAMPLE.com/A',
    'https://example.com/a.b/c', 'https://1.2.3.4/x', 'https://sub-domain.example.com/p?q=1&r=2',
  ])('%s', (input) => {
    const u = normaliseUrl(input);
    const w = new URL(input);
    expect(u.host).toBe(w.hostname);
    expect(u.path).toBe(w.pathname);
    expect(u.query).toBe(w.search.slice(1));
  });
});

describe('normalisePath', () => {
  it.each([
    ['/', '/'], ['', '/'], ['/a/', '/a/'], ['/a//', '/a/'], ['/%41%42', '/AB'], ['/%zz', '/%25zz'], ['/a%', '/a%25'],
    ['/%e2%82%ac', '/%E2%82%AC'], ['/a/./b/../c', '/a/c'], ['/..', '/'],
  ])('%j -> %j', (raw, want) => {
    expect(normalisePath(raw)).toBe(want);
  });
});

describe('urlListHost drops one leading www., web. or ftpN. label (squidGuard)', () => {
  it.each([
    ['www.example.com', 'example.com'], ['web.example.com', 'example.com'], ['ftp.example.com', 'example.com'],
    ['ftp2.example.com', 'example.com'], ['www2.example.com', 'www2.example.com'], ['wwwexample.com', 'wwwexample.com'],
    ['www.www.example.com', 'www.example.com'], ['example.com', 'example.com'], ['ftpx.example.com', 'ftpx.example.com'],
  ])('%s -> %s', (host, want) => {
    expect(urlListHost(host)).toBe(want);
  });
});
