// URL normalisation: every way of writing the same address must reach the same lookup key,
// or a pupil can walk round the filter by spelling a blocked site differently.
//
// The common case (an ASCII host in lower case, a plain path) is handled by a hand-written
// scanner, because the WHATWG parser costs more than the whole list lookup. Anything unusual
// (userinfo, percent-encoded or non-ASCII hosts, numeric IPv4 forms, IPv6) goes through
// `new URL()`, which implements the browser's own host parser, so we agree with what the
// browser will actually connect to.
import { formatV4Groups, ipv6At, isDottedQuad, isMapped } from '../net/ip.js';
import { normalisePath, normaliseQuery, pathIsCanonical } from './normalise-path.js';

export type HostType = 'name' | 'ipv4' | 'ipv6';

export interface NormalisedUrl {
  /** Lower-case scheme without ':' ('http', 'https', …). */
  readonly scheme: string;
  /** Lower-case ASCII host: punycode for IDNs, dotted quad for IPv4, [..] for IPv6; no trailing dot. */
  readonly host: string;
  readonly hostType: HostType;
  /** Explicit port, or 0 when absent or the scheme's default. */
  readonly port: number;
  /** Normalised path: starts with '/', dot segments resolved, repeated slashes folded. */
  readonly path: string;
  /** Query without the '?' ('' when none), escapes of unreserved characters decoded. The fragment is always dropped. */
  readonly query: string;
}

export class UrlError extends Error {
  override readonly name = 'UrlError';
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };

const enum C {
  TAB = 9, LF = 10, CR = 13, SPACE = 32, HASH = 35, PERCENT = 37, DOT = 46, SLASH = 47,
  D0 = 48, D9 = 57, COLON = 58, QUESTION = 63, UA = 65, UZ = 90, BACKSLASH = 92,
  UNDERSCORE = 95, LA = 97, LZ = 122, DASH = 45, LX = 120, TILDE = 126,
}

export function normaliseUrl(input: string): NormalisedUrl {
  const fast = fastNormalise(input);
  return fast ?? slowNormalise(input);
}

/**
 * Splits off the scheme. `rest` is where the authority starts, -1 when only the WHATWG parser
 * can say (a special scheme written without "//", as in "https:\\\\host" or "https:host",
 * which browsers accept), and 0 when there is no scheme (a bare host, or CONNECT's host:port).
 */
function schemeOf(input: string): { scheme: string; rest: number } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]{0,15}):/.exec(input);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const afterColon = m[0].length;
    if (input.startsWith('//', afterColon)) return { scheme, rest: afterColon + 2 };
    if (scheme in DEFAULT_PORTS) return { scheme, rest: -1 };
  }
  return { scheme: 'http', rest: 0 };
}

function fastNormalise(input: string): NormalisedUrl | null {
  let scheme: string;
  let i: number;
  if (input.startsWith('https://')) { scheme = 'https'; i = 8; }
  else if (input.startsWith('http://')) { scheme = 'http'; i = 7; }
  else {
    const s = schemeOf(input);
    if (s.rest < 0) return null;
    scheme = s.scheme; i = s.rest;
  }
  const n = input.length;
  const hostStart = i;
  let upper = false;
  let colon = -1;
  for (; i < n; i++) {
    const c = input.charCodeAt(i);
    if ((c >= C.LA && c <= C.LZ) || (c >= C.D0 && c <= C.D9) || c === C.DOT || c === C.DASH || c === C.UNDERSCORE) continue;
    if (c >= C.UA && c <= C.UZ) { upper = true; continue; }
    if (c === C.COLON && colon < 0) { colon = i; continue; }
    if (c === C.SLASH || c === C.QUESTION || c === C.HASH) break;
    return null; // '@', '%', '[', '\', non-ASCII, whitespace: the WHATWG parser decides
  }
  const hostEnd = colon >= 0 ? colon : i;
  let port = 0;
  if (colon >= 0) {
    if (colon + 1 === i || i - colon > 6) return null;
    for (let j = colon + 1; j < i; j++) {
      const c = input.charCodeAt(j);
      if (c < C.D0 || c > C.D9) return null;
      port = port * 10 + (c - C.D0);
    }
    if (port > 65535) return null;
    if (port === DEFAULT_PORTS[scheme]) port = 0;
  }
  let end = hostEnd;
  while (end > hostStart && input.charCodeAt(end - 1) === C.DOT) end--;
  if (end === hostStart) return null;
  let host = input.slice(hostStart, end);
  if (upper) host = host.toLowerCase();
  const hostType = numericTail(host) ? (isDottedQuad(host) ? 'ipv4' : null) : 'name';
  if (hostType === null) return null;

  // Path and query, without the fragment; the path is only rewritten when it needs it.
  let stop = input.indexOf('#', i);
  if (stop < 0) stop = n;
  let q = input.indexOf('?', i);
  if (q > stop) q = -1;
  let path = input.slice(i, q >= 0 ? q : stop);
  const query = q >= 0 ? normaliseQuery(input.slice(q + 1, stop)) : '';
  if (path === '') path = '/';
  else if (!pathIsCanonical(path)) path = normalisePath(path);
  if (!queryIsPlain(query)) return null;
  return { scheme, host, hostType, port, path, query };
}

function slowNormalise(raw: string): NormalisedUrl {
  // As the WHATWG parser does before anything else: drop leading and trailing C0 controls and
  // spaces, and tabs and newlines anywhere ("ht\ttp://bad.example/" is http://bad.example/).
  const input = raw.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  const { scheme, rest } = schemeOf(input);
  let url: URL;
  try {
    url = new URL(rest === 0 ? `http://${input}` : input);
  } catch {
    throw new UrlError(`not a valid URL: ${JSON.stringify(input.length > 200 ? input.slice(0, 200) + '…' : input)}`);
  }
  // Special schemes come lower-cased; other schemes' (opaque) hosts keep their case, and must
  // not, or the fast path and this one would disagree about the same host.
  let host = url.hostname.toLowerCase();
  if (host === '') throw new UrlError(`URL has no host: ${JSON.stringify(input.slice(0, 200))}`);
  let hostType: HostType = 'name';
  if (host.startsWith('[')) {
    const mapped = ipv4Mapped(host);
    if (mapped) { host = mapped; hostType = 'ipv4'; } else hostType = 'ipv6';
  } else {
    while (host.endsWith('.')) host = host.slice(0, -1);
    if (host === '') throw new UrlError(`URL has no host: ${JSON.stringify(input.slice(0, 200))}`);
    if (isDottedQuad(host)) hostType = 'ipv4';
    // "a.1.." passes the WHATWG parser (it drops one empty last label before its number test)
    // but "a.1" and "a.1." do not: without its dots it is no host at all, as for the fast path.
    else if (numericTail(host)) throw new UrlError(`not a valid URL: ${JSON.stringify(input.slice(0, 200))}`);
  }
  const port = url.port === '' ? 0 : Number(url.port);
  return {
    scheme,
    host,
    hostType,
    port: port === DEFAULT_PORTS[scheme] ? 0 : port,
    path: normalisePath(url.pathname === '' ? '/' : url.pathname),
    query: url.search.length > 1 ? normaliseQuery(url.search.slice(1)) : '',
  };
}

/** The WHATWG "ends in a number" test: such hosts are IPv4 addresses in some notation. */
function numericTail(host: string): boolean {
  const dot = host.lastIndexOf('.');
  const c = host.charCodeAt(dot + 1);
  if (c < C.D0 || c > C.D9) return false;
  if (c === C.D0 && (host.charCodeAt(dot + 2) | 0x20) === C.LX) return true;
  for (let j = dot + 2; j < host.length; j++) {
    const d = host.charCodeAt(j);
    if (d < C.D0 || d > C.D9) return false;
  }
  return true;
}

/** [::ffff:a.b.c.d] reaches an IPv4 host, so it must be filtered as that host. */
function ipv4Mapped(bracketed: string): string | null {
  const g = ipv6At(bracketed, 1, bracketed.length - 1);
  return g !== undefined && isMapped(g) ? formatV4Groups(g[6]!, g[7]!) : null;
}

function queryIsPlain(query: string): boolean {
  for (let j = 0; j < query.length; j++) {
    const c = query.charCodeAt(j);
    if (c <= C.SPACE || c > C.TILDE) return false;
  }
  return true;
}

/** squidGuard ignores one leading www., web. or ftpN. label of a URL entry's host: its length, or 0. */
export function listPrefixLength(host: string): number {
  const c = host.charCodeAt(0);
  if (c === 119 /* w */) {
    if (host.startsWith('www.') || host.startsWith('web.')) return 4;
  } else if (c === 102 /* f */ && host.startsWith('ftp')) {
    let j = 3;
    while (j < host.length && host.charCodeAt(j) >= C.D0 && host.charCodeAt(j) <= C.D9) j++;
    if (host.charCodeAt(j) === C.DOT) return j + 1;
  }
  return 0;
}

/** The host as a URL-list key. */
export function urlListHost(host: string): string {
  const cut = listPrefixLength(host);
  return cut === 0 ? host : host.slice(cut);
}
