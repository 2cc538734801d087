// Where the proxy may connect. A pupil must not reach the school's own servers, the admin UI or
// the proxy itself through the proxy, so loopback, private and link-local addresses are
// refused unless the configuration allows that range. The check runs inside the DNS lookup the
// connection itself uses, so a public name that resolves to a private address is caught too.
import type { LookupAddress } from 'node:dns';
import { formatV4Groups, ipFamily, ipv6At } from '../net/ip.js';
import { NetworkMap } from '../net/network-map.js';
import { LookupCache } from './lookup-cache.js';

// Special-purpose ranges (RFC 6890 and successors) that are never a public web site. IPv4-mapped
// addresses are looked up as IPv4 by NetworkMap; NAT64 and 6to4 addresses carry an IPv4
// address too, checked by embeddedIpv4 below.
const PRIVATE = new NetworkMap<true>([
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4',
  // IPv4-compatible (deprecated, includes :: and ::1), NAT64 local use, ULA, link-local, multicast.
  '::/96', '64:ff9b:1::/48', 'fc00::/7', 'fe80::/10', 'ff00::/8',
].map((cidr) => ({ cidr, value: true as const })));

/** The IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address, or null. */
export function embeddedIpv4(address: string): string | null {
  if (ipFamily(address) !== 6) return null;
  const lower = address.toLowerCase();
  if (!lower.startsWith('64:ff9b:') && !lower.startsWith('2002:')) return null;
  const zone = lower.indexOf('%');
  const g = ipv6At(lower, 0, zone < 0 ? lower.length : zone);
  if (g === undefined) return null;
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return formatV4Groups(g[6]!, g[7]!);
  if (g[0] === 0x2002) return formatV4Groups(g[1]!, g[2]!);
  return null;
}

export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** True when the address may be connected to: public, or in a configured allowed range. */
export function destinationAllowed(address: string, allowed: NetworkMap<true>): boolean {
  if (allowed.lookup(address) === true) return true;
  if (PRIVATE.lookup(address) !== undefined) return false;
  const inner = embeddedIpv4(address);
  return inner === null || destinationAllowed(inner, allowed);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Names the technician sends to a chosen address instead of asking DNS (`proxy.resolve`): an
 * intranet server under its public name, or, in tests and benchmarks, every name to a local
 * origin. The technician chose these addresses, so the private-address guard does not apply.
 */
export class ResolveOverrides {
  private readonly exact = new Map<string, string>();
  private readonly suffixes: { suffix: string; address: string }[] = [];
  private all: string | undefined;

  constructor(entries: Iterable<readonly [pattern: string, address: string]> = []) {
    for (const [pattern, address] of entries) {
      const p = pattern.toLowerCase().replace(/\.$/, '');
      if (p === '*') this.all = address;
      else if (p.startsWith('*.')) this.suffixes.push({ suffix: p.slice(1), address });
      else this.exact.set(p, address);
    }
    // The longest suffix wins, as the most specific rule should.
    this.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  get size(): number {
    return this.exact.size + this.suffixes.length + (this.all === undefined ? 0 : 1);
  }

  lookup(hostname: string): string | undefined {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    for (const { suffix, address } of this.suffixes) if (name.endsWith(suffix)) return address;
    return this.all;
  }
}

/** Checks a `proxy.resolve` pattern: a host name, `*.suffix`, or `*` for every name. */
export function resolvePatternError(pattern: string): string | null {
  const body = pattern === '*' ? 'a' : pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (ipFamily(body)) return 'is an address, not a name: addresses are not resolved';
  return /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(body) ? null : 'is not a host name';
}

/** The process's DNS answers, shared by every snapshot: a reload changes the guard, not the answers. */
const SHARED_LOOKUPS = new LookupCache();

type LookupOptions = { all?: boolean; family?: number | string; hints?: number };

/**
 * A dns.lookup for net.connect and undici that refuses private destinations. Made once per
 * configuration (Upstream holds it); answers come through `cache`, and the guard judges them
 * on every call.
 */
export function guardedLookup(allowed: NetworkMap<true>, overrides?: ResolveOverrides, cache: LookupCache = SHARED_LOOKUPS) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const fixed = overrides?.size ? overrides.lookup(hostname) : undefined;
    if (fixed !== undefined) {
      const family = ipFamily(fixed);
      if (options.all) return callback(null, [{ address: fixed, family }]);
      return callback(null, fixed, family);
    }
    cache.lookup(hostname, dnsFamily(options.family), options.hints ?? 0, (err, list) => {
      if (err) return callback(err, []);
      const ok = list.filter((a) => destinationAllowed(a.address, allowed));
      if (ok.length === 0) {
        const e: NodeJS.ErrnoException = new DestinationError(`${hostname} resolves to a private address (${list.map((a) => a.address).join(', ')}), which the proxy does not reach`);
        e.code = 'ESCHOOLGATEPRIVATE';
        return callback(e, []);
      }
      if (options.all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

/** dns.lookup's family option as a number: 4, 6, or 0 for either ('IPv4' and 'IPv6' are accepted too). */
function dnsFamily(f: number | string | undefined): number {
  return f === 4 || f === 'IPv4' ? 4 : f === 6 || f === 'IPv6' ? 6 : 0;
}

/** For a literal IP or "localhost" host: refused before any lookup. */
export function literalRefused(host: string, allowed: NetworkMap<true>): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  // Normalised hosts: an address starts with a digit or is bracketed; most hosts are names.
  const first = bare.charCodeAt(0);
  if ((host.startsWith('[') || (first >= 48 && first <= 57)) && ipFamily(bare)) return !destinationAllowed(bare, allowed);
  return (host === 'localhost' || host.endsWith('.localhost')) && !destinationAllowed('127.0.0.1', allowed);
}
