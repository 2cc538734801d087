// The generated PAC script, run as a browser would run it: in a fresh node:vm context with the
// standard PAC helpers (written here after Mozilla's pacutils) and a dnsResolve that answers
// from a table, so no test touches real DNS.
import { runInContext, createContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PAC_CONTENT_TYPE, pacScript, type PacOptions } from '../../src/proxy/pac.js';

const DNS: Record<string, string> = {
  'printer.school.sch.uk': '10.2.3.4',
  'vle.school.sch.uk': '192.168.11.1',
  'www.google.com': '142.250.1.1',
  // A public name pointing into the school's network goes DIRECT: that is what a CIDR rule means.
  'private.example.net': '192.168.10.5',
};

interface Pac {
  find(host: string, url?: string): string;
  /** Names passed to dnsResolve, in order. */
  readonly resolved: string[];
}

function load(opts: PacOptions): Pac {
  const resolved: string[] = [];
  const toNumber = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const dnsResolve = (host: string): string | null => {
    resolved.push(host);
    return Object.hasOwn(DNS, host) ? DNS[host]! : null;
  };
  const sandbox = {
    isPlainHostName: (host: string) => host.indexOf('.') === -1,
    dnsDomainIs: (host: string, domain: string) => host.length >= domain.length && host.substring(host.length - domain.length) === domain,
    shExpMatch: (str: string, glob: string) =>
      new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(str),
    isInNet: (host: string, pattern: string, mask: string) => {
      let ip: string | null = host;
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) ip = dnsResolve(host);
      if (ip === null) return false;
      const m = toNumber(mask);
      return (toNumber(ip) & m) >>> 0 === (toNumber(pattern) & m) >>> 0;
    },
    dnsResolve,
  };
  const context = createContext(sandbox);
  runInContext(pacScript(opts), context, { timeout: 1000 });
  const fn = (context as { FindProxyForURL?: unknown }).FindProxyForURL;
  if (typeof fn !== 'function') throw new Error('the script defines no FindProxyForURL');
  return {
    find: (host, url = `http://${host}/`) => String(fn(url, host)),
    resolved,
  };
}

const SCHOOL: PacOptions = {
  proxyHost: 'proxy.school.sch.uk',
  proxyPort: 3128,
  direct: ['intranet.school.sch.uk', '*.mis.school.sch.uk', '10.0.0.0/8', '192.168.10.0/24', '172.16.5.9', '2001:db8::10'],
};
const PROXY = 'PROXY proxy.school.sch.uk:3128';
const D = 'DIRECT';

describe('FindProxyForURL', () => {
  const pac = load(SCHOOL);

  it.each([
    // [host, answer, names it may resolve]
    // The internet goes through the filter.
    ['www.google.com', PROXY, ['www.google.com']],
    ['www.bbc.co.uk', PROXY, ['www.bbc.co.uk']],
    ['nowhere.example', PROXY, ['nowhere.example']],
    // Listed hosts: exactly those, in any case.
    ['intranet.school.sch.uk', D, []],
    ['INTRANET.School.SCH.uk', D, []],
    ['www.intranet.school.sch.uk', PROXY, ['www.intranet.school.sch.uk']],
    ['intranet.school.sch.uk.evil.example', PROXY, ['intranet.school.sch.uk.evil.example']],
    ['xintranet.school.sch.uk', PROXY, ['xintranet.school.sch.uk']],
    ['intranet.school.sch.uk.', PROXY, ['intranet.school.sch.uk.']],
    // *.domain: subdomains at any depth, not the domain itself, only at a label boundary.
    ['a.mis.school.sch.uk', D, []],
    ['a.b.c.mis.school.sch.uk', D, []],
    ['A.MIS.school.sch.uk', D, []],
    ['mis.school.sch.uk', PROXY, ['mis.school.sch.uk']],
    ['evilmis.school.sch.uk', PROXY, ['evilmis.school.sch.uk']],
    ['a.mis.school.sch.uk.evil.example', PROXY, ['a.mis.school.sch.uk.evil.example']],
    // Plain (single-label) names are the school's own.
    ['intranet', D, []],
    ['printer-2', D, []],
    ['my_host', D, []],
    ['xn--bcher-kva', D, []],
    // Localhost, and loopback only in its exact forms.
    ['localhost', D, []],
    ['LOCALHOST', D, []],
    ['127.0.0.1', D, []],
    ['127.9.8.7', D, []],
    ['::1', D, []],
    ['[::1]', D, []],
    ['127.evil.example', PROXY, ['127.evil.example']],
    ['127.0.0.1.evil.example', PROXY, ['127.0.0.1.evil.example']],
    ['localhost.evil.example', PROXY, ['localhost.evil.example']],
    ['evil.localhost', PROXY, ['evil.localhost']],
    // No dots yet not plain: IPv6 literals and single-number IPv4 forms must not slip through
    // isPlainHostName, nor be sent to DNS.
    ['2a00:1450:4009:81f::200e', PROXY, []],
    ['[2a00:1450:4009:81f::200e]', PROXY, []],
    ['::ffff:8.8.8.8', PROXY, []],
    ['2130706433', PROXY, ['2130706433']],
    ['0x7f000001', PROXY, ['0x7f000001']],
    ['0177', PROXY, ['0177']],
    ['', PROXY, ['']],
    // IPv4 networks, tested without DNS for literals.
    ['10.0.0.1', D, []],
    ['10.255.255.255', D, []],
    ['11.0.0.1', PROXY, []],
    ['9.255.255.255', PROXY, []],
    ['192.168.10.1', D, []],
    ['192.168.10.254', D, []],
    ['192.168.11.1', PROXY, []],
    ['192.168.1.1', PROXY, []],
    ['8.8.8.8', PROXY, []],
    // Listed addresses.
    ['172.16.5.9', D, []],
    ['172.16.5.10', PROXY, []],
    ['2001:db8::10', D, []],
    ['[2001:db8::10]', D, []],
    ['2001:DB8::10', D, []],
    ['2001:db8::11', PROXY, []],
    // Browsers canonicalise IPv6 before calling the script; a long form is not matched.
    ['2001:db8:0:0:0:0:0:10', PROXY, []],
    // Names resolved once, into the networks or not.
    ['printer.school.sch.uk', D, ['printer.school.sch.uk']],
    ['vle.school.sch.uk', PROXY, ['vle.school.sch.uk']],
    ['private.example.net', D, ['private.example.net']],
  ] as const)('%j → %s', (host, want, resolves) => {
    pac.resolved.length = 0;
    expect(pac.find(host)).toBe(want);
    expect(pac.resolved).toEqual(resolves);
  });

  it('answers from the host, not from a URL that names a listed host elsewhere', () => {
    expect(pac.find('www.google.com', 'http://www.google.com/?q=intranet.school.sch.uk')).toBe(PROXY);
    expect(pac.find('www.google.com', 'https://intranet.school.sch.uk@www.google.com/')).toBe(PROXY);
  });
});

describe('pacScript output', () => {
  it('never offers DIRECT as a fallback after the proxy', () => {
    const script = pacScript(SCHOOL);
    expect(script).toContain('"PROXY proxy.school.sch.uk:3128"');
    expect(script).not.toMatch(/PROXY [^"]*;/);
  });

  it('sticks to old JavaScript that every PAC engine runs', () => {
    const script = pacScript(SCHOOL);
    expect(script).not.toMatch(/\b(let|const|class)\s|=>|`/);
  });

  it('never resolves names when no network is listed', () => {
    const pac = load({ proxyHost: 'proxy', proxyPort: 8080, direct: ['intranet.school.sch.uk'] });
    for (const host of ['www.google.com', 'intranet.school.sch.uk', 'nowhere.example', '10.0.0.1']) {
      expect(pac.find(host)).toBe(host.startsWith('intranet') ? D : 'PROXY proxy:8080');
    }
    expect(pac.resolved).toEqual([]);
  });

  it('with nothing listed, only plain names and localhost go DIRECT', () => {
    const pac = load({ proxyHost: '10.0.0.2', proxyPort: 3128, direct: [] });
    expect(['intranet', 'localhost', 'www.google.com', '10.0.0.5'].map((h) => pac.find(h)))
      .toEqual([D, D, 'PROXY 10.0.0.2:3128', 'PROXY 10.0.0.2:3128']);
  });

  it.each([
    ['proxy.school.sch.uk', 3128, 'PROXY proxy.school.sch.uk:3128'],
    ['Proxy.School.SCH.uk', 3128, 'PROXY proxy.school.sch.uk:3128'],
    ['proxy', 8080, 'PROXY proxy:8080'],
    ['10.0.0.2', 1, 'PROXY 10.0.0.2:1'],
    ['10.0.0.2', 65535, 'PROXY 10.0.0.2:65535'],
    ['2001:db8::1', 3128, 'PROXY [2001:db8::1]:3128'],
    ['[2001:DB8:0::1]', 3128, 'PROXY [2001:db8::1]:3128'],
  ] as const)('proxy %s port %d → %s', (proxyHost, proxyPort, want) => {
    expect(load({ proxyHost, proxyPort, direct: [] }).find('www.google.com')).toBe(want);
  });

  it('accepts repeated entries', () => {
    const pac = load({ ...SCHOOL, direct: ['a.example', 'A.example', '*.b.example', '*.B.example', '10.0.0.0/8', '10.0.0.0/8'] });
    expect(['a.example', 'x.b.example', '10.1.1.1'].map((h) => pac.find(h))).toEqual([D, D, D]);
  });

  it('is served with the PAC media type', () => {
    expect(PAC_CONTENT_TYPE).toBe('application/x-ns-proxy-autoconfig');
  });
});

describe('pacScript refuses bad entries, naming them', () => {
  it.each([
    // Attempts to break out of a string literal or the script.
    'evil"); return "DIRECT"; //',
    'a.example", "b.example',
    "a.example'",
    'a.example\\',
    'a.example\n}function FindProxyForURL(){return "DIRECT"}',
    '</script><script>alert(1)</script>',
    'a.example\u2028',
    '${x}.example',
    '*.example"]; var domains = [".',
    '10.0.0.0/8"]]; return "DIRECT"; //',
    // Too wide: would send much of the internet around the filter.
    '*',
    '*.',
    '*.uk',
    '*.com',
    '**.example.com',
    '*.*.example.com',
    'www.*.example.com',
    '0.0.0.0/0',
    '1.0.0.0/4',
    '128.0.0.0/1',
    // Not a DNS name.
    '',
    ' intranet',
    'intranet ',
    'in tranet',
    'foo..bar',
    '.foo.bar',
    'foo.bar.',
    '-foo.example',
    'foo-.example',
    'foo_bar.example',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}example`,
    'bücher.example',
    'http://intranet.example',
    'intranet.example:80',
    'intranet.example/path',
    // Not an address or network.
    '10.0.0.256',
    '1.2.3',
    '010.0.0.1',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0/8',
    '10.1.2.3/8',
    '10.0.0.0/8/8',
    '10.0.0.0/08x',
    '2001:db8::/32',
    'fe80::1%eth0',
  ])('%j', (entry) => {
    let thrown: unknown;
    try {
      pacScript({ ...SCHOOL, direct: ['intranet.school.sch.uk', entry] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as RangeError).message).toContain(`direct[1] ${JSON.stringify(entry)}`);
  });

  it('says how to fix a network with host bits set', () => {
    expect(() => pacScript({ ...SCHOOL, direct: ['10.1.2.3/8'] })).toThrow('(fix: 10.0.0.0/8)');
  });

  it.each(['', 'proxy host', 'proxy"', 'proxy";alert(1);"', 'http://proxy', 'proxy:3128', 'proxy.', '300.1.1.1', 'fe80::1%eth0'])('proxyHost %j', (proxyHost) => {
    expect(() => pacScript({ ...SCHOOL, proxyHost })).toThrow(new RegExp(`^proxyHost ${JSON.stringify(proxyHost).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it.each([0, -1, 65536, 3128.5, Number.NaN, Number.POSITIVE_INFINITY])('proxyPort %s', (proxyPort) => {
    expect(() => pacScript({ ...SCHOOL, proxyPort })).toThrow(/^proxyPort .* is not a port/);
  });

  it('anything that gets through produces a script that runs and contains only safe literals', () => {
    // Deterministic hostile strings from a small alphabet of dangerous characters: each either
    // throws a RangeError or yields a script whose string literals are all plain host text.
    const alphabet = ['a', 'b', '1', '0', '.', '-', '*', '/', ':', '"', "'", '\\', '\n', '\u2028', ' ', '<', '>', '(', ')', ';', '$', '{', '}', '%'];
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const literals = (script: string): string[] => script.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    const BASELINE = new Set(literals(pacScript({ ...SCHOOL, direct: [] })));
    let accepted = 0;
    for (let n = 0; n < 3000; n++) {
      const len = 1 + (next() % 10);
      let entry = '';
      for (let i = 0; i < len; i++) entry += alphabet[next() % alphabet.length]!;
      let script: string;
      try {
        script = pacScript({ ...SCHOOL, direct: [entry] });
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        continue;
      }
      accepted++;
      for (const l of literals(script)) if (!BASELINE.has(l)) expect(l, entry).toMatch(/^"[a-z0-9.:-]*"$/);
      expect(load({ ...SCHOOL, direct: [entry] }).find('www.google.com')).toBe(PROXY);
    }
    // Some plain names and addresses must have been generated, or the loop tested nothing.
    expect(accepted).toBeGreaterThan(10);
  });
});
