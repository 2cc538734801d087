// Proxy auto-config served at /proxy.pac and /wpad.dat: browsers run FindProxyForURL(url, host)
// for every request and go where it says. The school's own servers (and localhost) go DIRECT;
// everything else goes through Schoolgate.
//
// There is deliberately no "; DIRECT" fallback after the proxy: browsers would then go straight
// out whenever the proxy is slow or down, which is exactly when filtering would silently stop.
// Failing closed means "no internet" rather than "unfiltered internet". (DIRECT rules only steer
// browsers; the firewall must still block direct egress for them to mean anything.)
//
// Injection: every entry is validated against a strict whitelist (lower-case letters, digits,
// dots, hyphens, colons) before it reaches the script, and is then written with JSON.stringify.
// Hostile entries throw a RangeError naming the entry; they never reach the output.
//
// The script sticks to ES3 (var, no arrows) because some PAC engines (WinHTTP's) are that old.
import { canonicalIp, formatV4, ipFamily, ipv4At, unbracket, v4Mask } from '../net/ip.js';

export interface PacOptions {
  readonly proxyHost: string;
  readonly proxyPort: number;
  /**
   * What goes DIRECT: "host.example" (that host only), "*.example.sch.uk" (its subdomains, not
   * the domain itself: list that too if wanted), an IP address, or an IPv4 CIDR "10.0.0.0/8"
   * (matched against IP literals and, via the browser's dnsResolve, names).
   */
  readonly direct: readonly string[];
}

export const PAC_CONTENT_TYPE = 'application/x-ns-proxy-autoconfig';

/** A DIRECT CIDR shorter than this would send a large share of the internet around the filter. */
const MIN_PREFIX = 8;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** What every string written into the script must look like, checked again just before writing. */
const SAFE_LITERAL = /^[a-z0-9.:-]*$/;

export function pacScript(opts: PacOptions): string {
  const proxy = `PROXY ${proxyAddress(opts.proxyHost)}:${port(opts.proxyPort)}`;
  const hosts = new Set<string>();
  const domains = new Set<string>();
  const nets = new Map<string, [string, string]>();
  opts.direct.forEach((entry, i) => {
    const what = `direct[${i}] ${JSON.stringify(entry)}`;
    if (typeof entry !== 'string' || entry === '') throw new RangeError(`${what} is empty (fix: a host, *.domain, IP address or IPv4 CIDR)`);
    if (entry.includes('/')) {
      const [net, mask] = cidr(entry, what);
      nets.set(`${net}/${mask}`, [net, mask]);
    } else if (entry.startsWith('*.')) {
      const domain = dnsName(entry.slice(2), what);
      if (!domain.includes('.')) throw new RangeError(`${what} would send a whole top-level domain DIRECT (fix: name the school's own domain, e.g. *.example.sch.uk)`);
      domains.add(`.${domain}`);
    } else {
      hosts.add(hostOrIp(entry, what));
    }
  });

  const lit = (s: string): string => {
    // Validation above already guarantees this; the second check keeps a future change to it
    // from ever writing an unsafe literal.
    if (!SAFE_LITERAL.test(s)) throw new RangeError(`refusing to write ${JSON.stringify(s)} into the PAC script`);
    return JSON.stringify(s);
  };
  const list = (xs: Iterable<string>): string => `[${[...xs].map(lit).join(', ')}]`;
  const netList = `[${[...nets.values()].map(([n, m]) => `[${lit(n)}, ${lit(m)}]`).join(', ')}]`;

  return [
    '// Schoolgate proxy auto-config. Generated from the configuration: edit that, not this file.',
    '// No DIRECT fallback: if the proxy cannot be reached, browsing stops rather than going unfiltered.',
    'function FindProxyForURL(url, host) {',
    `  var proxy = ${JSON.stringify(proxy)};`,
    `  var hosts = ${list(hosts)};`,
    `  var domains = ${list(domains)};`,
    `  var nets = ${netList};`,
    '  var i, ip;',
    '  host = String(host).toLowerCase();',
    '  if (host.charAt(0) === "[" && host.charAt(host.length - 1) === "]") host = host.substring(1, host.length - 1);',
    '  var v4 = /^[0-9]{1,3}(\\.[0-9]{1,3}){3}$/.test(host);',
    // Loopback by exact form only: shExpMatch(host, "127.*") would also match 127.evil.example.
    '  if (host === "localhost" || host === "::1" || (v4 && host.substring(0, 4) === "127.")) return "DIRECT";',
    // isPlainHostName only looks for a dot, so IPv6 literals ("2a00::1") and single-number IPv4
    // forms ("2130706433", "0x7f000001") would count as plain: require a real single label.
    '  if (isPlainHostName(host) && /^[a-z0-9_-]+$/.test(host) && !/^(0x[0-9a-f]*|[0-9]+)$/.test(host)) return "DIRECT";',
    '  for (i = 0; i < hosts.length; i++) if (host === hosts[i]) return "DIRECT";',
    '  for (i = 0; i < domains.length; i++) if (dnsDomainIs(host, domains[i])) return "DIRECT";',
    '  if (nets.length > 0) {',
    // Resolve once, and only when there are networks to test: DNS in a PAC script blocks the browser.
    // A name that does not resolve goes to the proxy, which will report the error.
    '    ip = v4 ? host : (host.indexOf(":") < 0 ? dnsResolve(host) : null);',
    '    if (ip) for (i = 0; i < nets.length; i++) if (isInNet(ip, nets[i][0], nets[i][1])) return "DIRECT";',
    '  }',
    '  return proxy;',
    '}',
    '',
  ].join('\n');
}

function port(p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`proxyPort ${String(p)} is not a port (fix: a whole number from 1 to 65535)`);
  return p;
}

function proxyAddress(host: string): string {
  const h = hostOrIp(host, `proxyHost ${JSON.stringify(host)}`);
  return h.includes(':') ? `[${h}]` : h;
}

/** A DNS name or IP address, lower-cased; IPv6 in the compressed form browsers pass to the script. */
function hostOrIp(entry: string, what: string): string {
  const bare = unbracket(entry);
  const family = ipFamily(bare);
  if (family === 4) return bare;
  if (family === 6) {
    if (bare.includes('%')) throw new RangeError(`${what} has an IPv6 zone, which browsers never pass to a PAC script (fix: drop the %zone)`);
    return canonicalIp(bare)!;
  }
  return dnsName(entry, what);
}

function dnsName(name: string, what: string): string {
  const fix = '(fix: a DNS name such as intranet.example.sch.uk, written in ASCII: use the xn-- form for international names)';
  const lower = name.toLowerCase();
  if (lower.length > 253) throw new RangeError(`${what} is longer than a DNS name can be ${fix}`);
  const labels = lower.split('.');
  if (!labels.every((l) => LABEL.test(l))) throw new RangeError(`${what} is not a DNS name or IP address ${fix}`);
  // "10.0.0.300" or "1.2.3" are not names, and browsers would treat them as (odd) addresses.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) throw new RangeError(`${what} looks like an IP address but is not one (fix: four numbers 0-255, e.g. 10.0.0.1)`);
  return lower;
}

/** IPv4 "a.b.c.d/len" as isInNet's [network, mask]. */
function cidr(entry: string, what: string): [string, string] {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(entry);
  const addr = m ? ipv4At(m[1]!, 0, m[1]!.length) : -1;
  if (!m || addr < 0) {
    const v6 = ipFamily(entry.split('/')[0] ?? '') === 6;
    throw new RangeError(v6
      ? `${what} is an IPv6 network, which PAC isInNet cannot test (fix: list the hosts, or *.domain)`
      : `${what} is not an IPv4 CIDR (fix: e.g. 10.0.0.0/8)`);
  }
  const prefix = Number(m[2]);
  if (prefix > 32) throw new RangeError(`${what} has a prefix longer than 32 (fix: /0 to /32)`);
  if (prefix < MIN_PREFIX) throw new RangeError(`${what} would send a large share of the internet around the filter (fix: the school's own networks, /${MIN_PREFIX} or longer)`);
  const mask = v4Mask(prefix);
  if ((addr & ~mask) >>> 0 !== 0) {
    const net = formatV4((addr & mask) >>> 0);
    throw new RangeError(`${what} has host bits set (fix: ${net}/${prefix})`);
  }
  return [m[1]!, formatV4(mask)];
}
