// The `proxy:` section of the configuration: where Schoolgate listens, which networks belong to
// which group, which CONNECT ports are allowed, and which private destinations may be reached.
import { availableParallelism } from 'node:os';
import type { Checker } from '../config/check.js';
import type { KeyPath } from '../config/yaml.js';
import type { AuthMode } from '../identity/networks.js';
import { parseCidr } from '../net/cidr.js';
import { ipFamily } from '../net/ip.js';
import { NetworkMap } from '../net/network-map.js';
import { ResolveOverrides, resolvePatternError } from './destinations.js';
import { pacScript } from './pac.js';

export interface NetworkAssignment {
  readonly group: string;
  readonly auth: AuthMode;
}

export interface ProxyConfig {
  /**
   * The addresses the proxy listens on. `::` (the default) is every address, IPv6 and IPv4 alike
   * on a dual-stack machine; `0.0.0.0` every IPv4 address only.
   */
  readonly listen: readonly string[];
  readonly port: number;
  /**
   * Proxy processes serving the port together (node:cluster): the machine's cores by default. 1
   * is one process doing everything; more keep one primary process for what must be one per
   * machine (traffic writer, alert delivery, staff app, list updates) and run the proxy in the others.
   */
  readonly workers: number;
  /** Ports a CONNECT tunnel may go to (443 unless configured). */
  readonly connectPorts: ReadonlySet<number>;
  /** Groups whose CONNECT tunnels to bare IP addresses are blocked (a common way round name-based filtering). */
  readonly blockIpTunnels: ReadonlySet<string>;
  /** Groups whose tunnels must carry TLS (anything else through port 443 is blocked). */
  readonly requireTls: ReadonlySet<string>;
  readonly networks: NetworkMap<NetworkAssignment>;
  /** The group of an address in no configured network, and whether it must sign in. */
  readonly defaultGroup: string;
  readonly defaultAuth: AuthMode;
  /** Private, loopback or link-local destinations that may still be reached (the school's own web servers). */
  readonly allowedPrivate: NetworkMap<true>;
  /** Names sent to a fixed address instead of DNS (`proxy.resolve`). */
  readonly resolve: ResolveOverrides;
  /**
   * The name under which browsers reach the proxy's own pages through the proxy (the warn page's
   * continue button, "report a concern"). Never looked up: the proxy answers it itself.
   */
  readonly pageHost: string;
  readonly via: string;
  readonly xForwardedFor: boolean;
  readonly limits: ProxyLimits;
  /** Hosts, *.domains and IPv4 CIDRs the PAC file sends DIRECT (the school's own servers). */
  readonly pacDirect: readonly string[];
}

/** Safe defaults against slow or greedy clients; each can be set under proxy.limits. */
export interface ProxyLimits {
  /** A request's headers must all arrive within this (slowloris). */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive connection from a client is closed after this. */
  readonly idleTimeoutMs: number;
  /** A tunnel or upgraded connection with no traffic either way is closed after this. */
  readonly tunnelIdleTimeoutMs: number;
  /** Larger request headers are answered 431. */
  readonly maxHeaderBytes: number;
  /** Open connections one client address may hold; more are refused. */
  readonly connectionsPerClient: number;
  /** An upstream server that does not connect, or answer with headers, or send body bytes, within this gets a 504. */
  readonly upstreamTimeoutMs: number;
  /** A request body with no byte for this long is ended (408); also the window its rate is measured over. */
  readonly bodyIdleMs: number;
  /** A request body slower than this, over each window, is ended (408): one byte every few seconds holds a connection for nothing. */
  readonly bodyMinBytesPerSecond: number;
  /** Requests one client address may have open to one site at once: its share of that site's pooled upstream connections. */
  readonly upstreamPerClient: number;
}

const LIMIT_KEYS = [
  'headerTimeoutSeconds', 'idleTimeoutSeconds', 'tunnelIdleTimeoutSeconds', 'maxHeaderBytes', 'connectionsPerClient', 'upstreamTimeoutSeconds',
  'bodyIdleSeconds', 'bodyMinBytesPerSecond', 'upstreamPerClient',
];
/** Connections the relay pools per site (undici's `connections`); a device's share must leave room for others. */
export const UPSTREAM_POOL = 256;

const KEYS = ['listen', 'host', 'port', 'workers', 'connectPorts', 'blockIpTunnels', 'requireTls', 'networks', 'defaultGroup', 'defaultAuth', 'allowPrivate', 'resolve', 'pageHost', 'via', 'xForwardedFor', 'limits', 'pacDirect'];
const PUPILS = ['ks1', 'ks2', 'guest'];

export function parseProxyConfig(check: Checker, value: unknown, groups: ReadonlySet<string>): ProxyConfig {
  const root = value === undefined ? {} : check.object(['proxy'], value, KEYS) ?? {};
  const group = (path: KeyPath, v: unknown): string | undefined => {
    const g = check.string(path, v);
    if (g !== undefined && groups.size > 0 && !groups.has(g)) return check.fail(path, `unknown group "${g}"`, `use one of: ${[...groups].join(', ')}`);
    return g;
  };
  const groupList = (key: string, fallback: readonly string[]): ReadonlySet<string> => {
    if (root[key] === undefined) return new Set(fallback.filter((g) => groups.has(g)));
    const out = new Set<string>();
    (check.array(['proxy', key], root[key]) ?? []).forEach((v, i) => {
      const g = group(['proxy', key, i], v);
      if (g !== undefined) out.add(g);
    });
    return out;
  };

  const port = root.port === undefined ? 3128 : check.number(['proxy', 'port'], root.port, { min: 1, max: 65535, integer: true }) ?? 3128;
  const listen = listenAddresses(check, root);
  const workers = root.workers === undefined ? defaultWorkers() : workerCount(check, root.workers);
  const connectPorts = new Set<number>();
  if (root.connectPorts === undefined) connectPorts.add(443);
  else {
    (check.array(['proxy', 'connectPorts'], root.connectPorts) ?? []).forEach((v, i) => {
      const p = check.number(['proxy', 'connectPorts', i], v, { min: 1, max: 65535, integer: true });
      if (p !== undefined) connectPorts.add(p);
    });
  }

  const rules: { cidr: string; value: NetworkAssignment }[] = [];
  if (root.networks !== undefined) {
    (check.array(['proxy', 'networks'], root.networks) ?? []).forEach((v, i) => {
      const at: KeyPath = ['proxy', 'networks', i];
      const n = check.object(at, v, ['cidr', 'group', 'auth']);
      if (!n) return;
      const cidr = check.string([...at, 'cidr'], n.cidr);
      const parsed = cidr === undefined ? undefined : parseCidr(cidr);
      if (parsed && 'error' in parsed) check.fail([...at, 'cidr'], parsed.error, parsed.fix);
      const g = group([...at, 'group'], n.group);
      const auth = n.auth === undefined ? 'off' : (check.string([...at, 'auth'], n.auth, { oneOf: ['required', 'optional', 'off'] }) as AuthMode | undefined);
      if (cidr !== undefined && parsed && !('error' in parsed) && g !== undefined && auth !== undefined) rules.push({ cidr, value: { group: g, auth } });
    });
  }
  let networks = new NetworkMap<NetworkAssignment>([]);
  try {
    networks = new NetworkMap(rules);
  } catch (err) {
    check.fail(['proxy', 'networks'], (err as Error).message);
  }

  const allowed: { cidr: string; value: true }[] = [];
  if (root.allowPrivate !== undefined) {
    (check.array(['proxy', 'allowPrivate'], root.allowPrivate) ?? []).forEach((v, i) => {
      const cidr = check.string(['proxy', 'allowPrivate', i], v);
      if (cidr === undefined) return;
      const parsed = parseCidr(cidr);
      if ('error' in parsed) check.fail(['proxy', 'allowPrivate', i], parsed.error, parsed.fix);
      else allowed.push({ cidr, value: true });
    });
  }
  let allowedPrivate = new NetworkMap<true>([]);
  try {
    allowedPrivate = new NetworkMap(allowed);
  } catch (err) {
    check.fail(['proxy', 'allowPrivate'], (err as Error).message);
  }

  const l = root.limits === undefined ? {} : check.object(['proxy', 'limits'], root.limits, LIMIT_KEYS) ?? {};
  const limit = (key: string, fallback: number, min: number, max: number): number =>
    l[key] === undefined ? fallback : check.number(['proxy', 'limits', key], l[key], { min, max, integer: true }) ?? fallback;
  const limits: ProxyLimits = {
    headerTimeoutMs: limit('headerTimeoutSeconds', 30, 1, 600) * 1000,
    idleTimeoutMs: limit('idleTimeoutSeconds', 60, 1, 3600) * 1000,
    tunnelIdleTimeoutMs: limit('tunnelIdleTimeoutSeconds', 600, 10, 86_400) * 1000,
    maxHeaderBytes: limit('maxHeaderBytes', 16_384, 1024, 1_048_576),
    connectionsPerClient: limit('connectionsPerClient', 256, 1, 100_000),
    upstreamTimeoutMs: limit('upstreamTimeoutSeconds', 30, 1, 600) * 1000,
    bodyIdleMs: limit('bodyIdleSeconds', 30, 1, 600) * 1000,
    bodyMinBytesPerSecond: limit('bodyMinBytesPerSecond', 64, 0, 1_048_576),
    // Browsers open at most 6 connections per site; 16 leaves room for a busy one.
    upstreamPerClient: limit('upstreamPerClient', 16, 1, UPSTREAM_POOL / 2),
  };

  const overrides: [string, string][] = [];
  if (root.resolve !== undefined) {
    const r = check.object(['proxy', 'resolve'], root.resolve) ?? {};
    for (const [pattern, v] of Object.entries(r)) {
      const address = check.string(['proxy', 'resolve', pattern], v);
      const bad = resolvePatternError(pattern);
      if (bad) check.fail(['proxy', 'resolve', pattern], `"${pattern}" ${bad}`, 'a host name (intranet.school.example), *.domain, or * for every name');
      else if (address !== undefined && ipFamily(address) === 0) check.fail(['proxy', 'resolve', pattern], `"${address}" is not an IP address`, 'an IPv4 or IPv6 address such as 10.0.0.5');
      else if (address !== undefined) overrides.push([pattern, address]);
    }
  }

  const pacDirect: string[] = [];
  if (root.pacDirect !== undefined) {
    (check.array(['proxy', 'pacDirect'], root.pacDirect) ?? []).forEach((v, i) => {
      const entry = check.string(['proxy', 'pacDirect', i], v);
      if (entry === undefined) return;
      try {
        pacScript({ proxyHost: 'proxy.invalid', proxyPort: port, direct: [entry] });
        pacDirect.push(entry);
      } catch (err) {
        check.fail(['proxy', 'pacDirect', i], (err as Error).message.replace(/^direct\[0\] /, ''), 'a host (intranet.school.example), *.domain, or an IPv4 CIDR (10.0.0.0/8)');
      }
    });
  }

  return {
    listen, port, workers, connectPorts, networks, allowedPrivate, limits, pacDirect, resolve: new ResolveOverrides(overrides),
    defaultGroup: root.defaultGroup === undefined ? (groups.has('guest') ? 'guest' : [...groups][0] ?? 'guest') : group(['proxy', 'defaultGroup'], root.defaultGroup) ?? 'guest',
    defaultAuth: root.defaultAuth === undefined ? 'off' : (check.string(['proxy', 'defaultAuth'], root.defaultAuth, { oneOf: ['required', 'optional', 'off'] }) as AuthMode | undefined) ?? 'off',
    blockIpTunnels: groupList('blockIpTunnels', PUPILS),
    requireTls: groupList('requireTls', PUPILS),
    pageHost: root.pageHost === undefined ? 'schoolgate.invalid'
      : check.string(['proxy', 'pageHost'], root.pageHost, { pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, patternHelp: 'a lower-case host name with a dot, such as schoolgate.invalid' }) ?? 'schoolgate.invalid',
    via: root.via === undefined ? 'schoolgate' : check.string(['proxy', 'via'], root.via, { pattern: /^[A-Za-z0-9._-]{1,64}$/, patternHelp: 'letters, digits, dots, hyphens and underscores' }) ?? 'schoolgate',
    xForwardedFor: root.xForwardedFor === undefined ? false : check.boolean(['proxy', 'xForwardedFor'], root.xForwardedFor) ?? false,
  };
}

const MAX_WORKERS = 64;

/**
 * One proxy process per core, unless SCHOOLGATE_DEFAULT_WORKERS says otherwise: the test suite
 * sets it to 1, so that only the tests about workers start several.
 */
function defaultWorkers(): number {
  const set = Number(process.env.SCHOOLGATE_DEFAULT_WORKERS);
  return Number.isInteger(set) && set >= 1 ? Math.min(set, MAX_WORKERS) : Math.min(availableParallelism(), MAX_WORKERS);
}

function workerCount(check: Checker, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_WORKERS) return v;
  check.fail(['proxy', 'workers'], `must be a whole number of proxy processes from 1 to ${MAX_WORKERS}, found ${JSON.stringify(v)}`,
    `1 for a single process, or leave it out for one per core (${availableParallelism()} on this machine)`);
  return 1;
}

/** Every address, IPv6 and IPv4 (Node listens dual-stack on ::). */
export const ANY_ADDRESS = '::';

/**
 * `proxy.listen`: one address or a list; `proxy.host`, its older spelling, names one. Addresses
 * only: a name could resolve to something else tomorrow.
 */
function listenAddresses(check: Checker, root: Record<string, unknown>): string[] {
  if (root.listen !== undefined && root.host !== undefined) {
    check.fail(['proxy', 'host'], 'proxy.host and proxy.listen say the same thing', 'keep proxy.listen and remove proxy.host');
    return [ANY_ADDRESS];
  }
  const key = root.listen !== undefined ? 'listen' : 'host';
  const value = root[key];
  if (value === undefined) return [ANY_ADDRESS];
  const items: [KeyPath, unknown][] = Array.isArray(value) ? value.map((v, i) => [['proxy', key, i], v]) : [[['proxy', key], value]];
  if (items.length === 0) check.fail(['proxy', key], 'names no address', 'give at least one address, such as "::" for every address');
  const out: string[] = [];
  for (const [path, v] of items) {
    const address = check.string(path, v);
    if (address === undefined) continue;
    if (ipFamily(address) === 0) check.fail(path, `"${address}" is not an IP address`, '"::" for every address (IPv6 and IPv4), "0.0.0.0" for every IPv4 address, or one of this machine\'s addresses');
    else if (out.includes(address)) check.fail(path, `"${address}" is listed twice`);
    else out.push(address);
  }
  // :: already takes every IPv4 address too: listing it with another would fail to listen.
  if (out.length > 1 && out.includes(ANY_ADDRESS)) check.fail(['proxy', key], '"::" is every address already (IPv6 and IPv4)', 'list "::" alone, or only this machine\'s own addresses');
  return out.length > 0 ? out : [ANY_ADDRESS];
}
