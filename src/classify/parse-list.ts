// Blocklist line parsing. Real lists carry junk (binary bytes, regex fragments, wildcards,
// overlong names); each bad line is skipped and counted with its reason so a technician can
// see what a list really contributed, and one bad line never costs the rest of the file.
//
// Domain names are validated byte by byte straight into the domain table's buffer: the
// shared bench set has 1.7 M of them and making a JS string of each would double build time.
import { domainToASCII } from 'node:url';
import { normalisePath, normaliseQuery } from './normalise-path.js';
import { isDottedQuad } from '../net/ip.js';
import { urlListHost, type NormalisedUrl } from './normalise-url.js';
import { pathIsPlain, readPath } from './path-readings.js';

export const SKIP_REASONS = {
  binary: 'binary or control bytes',
  'invalid-character': 'a character not allowed in a host name',
  'too-long': 'name longer than 253 characters',
  'label-too-long': 'a label longer than 63 characters',
  'empty-label': 'an empty label (two dots together)',
  wildcard: 'a wildcard, which Schoolgate does not support (list the domain itself)',
  'invalid-idn': 'an international name that cannot be converted to punycode',
  'invalid-ip': 'a numeric name that is not a valid IPv4 address',
  'url-in-domains': 'a URL with a path in a domains file',
  'regex-syntax': 'regular-expression syntax in a URL entry',
  'invalid-url': 'not a valid URL entry',
  'invalid-hash': 'not a 64-digit hexadecimal SHA-256',
  'invalid-regex': 'an expression that does not compile (RE2 syntax: no back-references or look-around)',
  'expression-too-long': 'an expression longer than 1,024 characters',
  'matches-everything': 'an expression that matches every URL',
  duplicate: 'listed twice in the same list',
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

const REASON_CODES = Object.keys(SKIP_REASONS) as SkipReason[];
/** Negative return codes of scanHost map onto REASON_CODES[-code - 1]. */
function code(reason: SkipReason): number {
  return -REASON_CODES.indexOf(reason) - 1;
}
export function reasonOf(codeValue: number): SkipReason {
  return REASON_CODES[-codeValue - 1]!;
}
const BINARY = code('binary');
const INVALID_CHAR = code('invalid-character');
const TOO_LONG = code('too-long');
const LABEL_TOO_LONG = code('label-too-long');
const EMPTY_LABEL = code('empty-label');
const WILDCARD = code('wildcard');
const INVALID_IDN = code('invalid-idn');
const INVALID_IP = code('invalid-ip');
const URL_IN_DOMAINS = code('url-in-domains');

/** Calls fn for each line's [start, end) with 1-based line numbers; drops a BOM and CR. */
export function forEachLine(buf: Uint8Array, fn: (start: number, end: number, line: number) => void): void {
  let start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let line = 1;
  while (start <= buf.length) {
    let end = buf.indexOf(10, start);
    const next = end < 0 ? buf.length + 1 : end + 1;
    if (end < 0) end = buf.length;
    let e = end;
    if (e > start && buf[e - 1] === 13) e--;
    if (e > start || end < buf.length) fn(start, e, line);
    start = next;
    line++;
  }
}

function isSpace(b: number): boolean {
  return b === 32 || b === 9 || b === 13 || b === 11 || b === 12;
}

/** Trims the line and drops comments ('#' at the start or after white space). Returns [s, e). */
export function contentOf(buf: Uint8Array, start: number, end: number): [number, number] {
  let s = start;
  while (s < end && isSpace(buf[s]!)) s++;
  let e = s;
  for (let j = s; j < end; j++) {
    const b = buf[j]!;
    if (b === 35 /* # */ && (j === s || isSpace(buf[j - 1]!))) break;
    e = j + 1;
  }
  while (e > s && isSpace(buf[e - 1]!)) e--;
  return [s, e];
}

/** Calls fn for each line with content: [s, e) trimmed, comments and blank lines dropped. */
export function forEachEntry(buf: Uint8Array, fn: (s: number, e: number, line: number) => void): void {
  forEachLine(buf, (start, end, line) => {
    const [s, e] = contentOf(buf, start, end);
    if (s < e) fn(s, e, line);
  });
}

/**
 * Validates the host name in buf[s, e) and writes its normal form (lower case, punycode,
 * no leading or trailing dot) to out at `at`. Returns its length, or a negative skip code.
 */
export function scanHost(buf: Uint8Array, s: number, e: number, out: Uint8Array, at: number): number {
  if (buf[s] === 42 /* * */) return WILDCARD;
  if (buf[s] === 46) s++;
  while (e > s && buf[e - 1] === 46) e--;
  if (e <= s) return EMPTY_LABEL;
  if (e - s > 253) return TOO_LONG;
  let label = 0;
  let prev = 46;
  for (let j = s; j < e; j++) {
    let b = buf[j]!;
    if (b >= 0x80) return scanInternational(buf, s, e, out, at);
    if (b >= 65 && b <= 90) b |= 0x20;
    else if (b === 46) {
      if (prev === 46) return EMPTY_LABEL;
      label = 0;
    } else if (!((b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 95)) {
      if (b < 32 || b === 127) return BINARY;
      if (b === 42) return WILDCARD;
      if (b === 47) return URL_IN_DOMAINS;
      return INVALID_CHAR;
    }
    if (b !== 46 && ++label > 63) return LABEL_TOO_LONG;
    out[at + j - s] = b;
    prev = b;
  }
  const len = e - s;
  return numericTailBytes(out, at, len) ? canonicalIp(out, at, len) : len;
}

function scanInternational(buf: Uint8Array, s: number, e: number, out: Uint8Array, at: number): number {
  const text = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
  if (text.includes('\uFFFD')) return BINARY;
  const ascii = domainToASCII(text);
  if (ascii === '' || ascii.length > 253) return INVALID_IDN;
  for (let j = 0; j < ascii.length; j++) out[at + j] = ascii.charCodeAt(j);
  return ascii.length;
}

function numericTailBytes(out: Uint8Array, at: number, len: number): boolean {
  let j = at + len - 1;
  while (j >= at && out[j] !== 46) j--;
  const first = out[j + 1]!;
  if (first < 48 || first > 57) return false;
  if (first === 48 && out[j + 2] === 120) return true;
  for (let k = j + 2; k < at + len; k++) if (out[k]! < 48 || out[k]! > 57) return false;
  return true;
}

/** Numeric names are IPv4 addresses in some notation; store the dotted quad browsers use. */
function canonicalIp(out: Uint8Array, at: number, len: number): number {
  const text = Buffer.from(out.buffer, out.byteOffset + at, len).toString('latin1');
  if (isDottedQuad(text)) return len;
  let host: string;
  try {
    host = new URL(`http://${text}/`).hostname;
  } catch {
    return INVALID_IP;
  }
  if (!isDottedQuad(host)) return INVALID_IP;
  for (let j = 0; j < host.length; j++) out[at + j] = host.charCodeAt(j);
  return host.length;
}

export type HostResult = { readonly host: string; readonly reason?: undefined } | { readonly reason: SkipReason };

/** A host name from a string, through the same rules as list entries. */
export function normaliseListHost(text: string): HostResult {
  const bytes = Buffer.from(text, 'utf8');
  const scratch = new Uint8Array(Math.max(bytes.length, 256));
  const n = scanHost(bytes, 0, bytes.length, scratch, 0);
  return n < 0 ? { reason: reasonOf(n) } : { host: Buffer.from(scratch.buffer, 0, n).toString('latin1') };
}

export interface UrlEntry {
  /** Host after dropping one leading www., web. or ftpN. label. */
  readonly host: string;
  /** Lower-case normalised path (and '?query'), no trailing slash; '' for a whole-host entry. */
  readonly key: string;
  /** The key as servers that decode more read it (path-readings.ts); the same string as `key` for most entries. */
  readonly readKey: string;
}

/**
 * Parses a squidGuard URL entry ("host/path?query", scheme optional). In an IWF-style list
 * (`page: true`) every entry is one page: "host/" is that site's front page, never the whole
 * site, and a fragment or empty query the browser never sends leaves the page it is on.
 */
export function parseUrlEntry(text: string, page = false): UrlEntry | SkipReason {
  let t = text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(t);
  if (scheme) t = t.slice(scheme[0].length);
  if (/\s/.test(t)) return 'invalid-character';
  if (t.includes('\\')) return 'regex-syntax';
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  let cut = t.search(/[/?]/);
  if (cut < 0) cut = t.length;
  let hostPart = t.slice(0, cut);
  const at = hostPart.lastIndexOf('@');
  if (at >= 0) hostPart = hostPart.slice(at + 1);
  const colon = hostPart.lastIndexOf(':');
  if (colon >= 0 && /^:\d+$/.test(hostPart.slice(colon))) hostPart = hostPart.slice(0, colon);
  const r = normaliseListHost(hostPart);
  if (r.reason !== undefined) return r.reason === 'url-in-domains' ? 'invalid-url' : r.reason;
  const keys = entryKeys(t.slice(cut));
  const key = page && keys.key === '' ? '/' : keys.key;
  return { host: urlListHost(r.host), key, readKey: keys.key === keys.readKey ? key : keys.readKey };
}

/**
 * The comparison key of a path and query: normalised and in lower case. A trailing slash is
 * dropped ("/games/" also matches "/games", which servers answer with the same folder), and a
 * bare "/" means the whole host, key ''.
 */
export function urlKey(pathAndQuery: string): string {
  return entryKeys(pathAndQuery).key;
}

/** An entry's key, and its key as read by the servers path-readings.ts describes (parameters kept: an entry that names one means it). */
function entryKeys(pathAndQuery: string): { key: string; readKey: string } {
  const q = pathAndQuery.indexOf('?');
  const rawPath = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  const query = q >= 0 ? normaliseQuery(pathAndQuery.slice(q + 1)) : '';
  const path = rawPath === '' ? '/' : normalisePath(rawPath);
  const key = keyOf(path, query);
  if (pathIsPlain(path)) return { key, readKey: key };
  const readKey = keyOf(readPath(path, false), query);
  // A junk entry ("host/%20") must not widen to the whole host by being read.
  return { key, readKey: readKey === '' ? key : readKey };
}

function keyOf(path: string, query: string): string {
  if (query === '') return path === '/' ? '' : (path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
  return `${path}?${query}`.toLowerCase();
}

/** A request's comparison key, the same form as urlKey gives an entry (path and query, lower case). */
export function requestKey(url: NormalisedUrl): string {
  return (url.query === '' ? url.path : `${url.path}?${url.query}`).toLowerCase();
}

/** A request's keys: as written (what the log shows), and as the servers path-readings.ts describes would read its path. */
export interface RequestKeys {
  readonly written: string;
  /** Escapes decoded, white space and trailing dots trimmed, '..;' resolved; `written` itself for most requests. */
  readonly read: string;
  /** `read` with every segment's ";…" parameters dropped (Tomcat's reading); `read` itself when it has none. */
  readonly bare: string;
}

export function requestKeys(url: NormalisedUrl): RequestKeys {
  const written = requestKey(url);
  if (pathIsPlain(url.path)) return { written, read: written, bare: written };
  const tail = url.query === '' ? '' : `?${url.query}`;
  const readPathText = readPath(url.path, false);
  const read = readPathText === url.path ? written : (readPathText + tail).toLowerCase();
  const barePath = url.path.includes(';') ? readPath(url.path, true) : readPathText;
  const bare = barePath === readPathText ? read : (barePath + tail).toLowerCase();
  return { written, read, bare };
}

/**
 * How many of a request's readings an entry must cover. An entry that blocks or puts a URL in
 * a category covers it when it covers any reading, since some server reads it that way; one
 * that allows, warns or exempts only when it covers every reading, so that a spelling a server
 * reads differently never opens more than the plain path would.
 */
export type Reach = 'any' | 'every';

/** Whether a URL entry (its key and readKey) covers a request, over the request's readings (see Reach). */
export function entryCovers(keys: RequestKeys, key: string, readKey: string, reach: Reach): boolean {
  const written = keyMatches(keys.written, key);
  const plain = keys.read === keys.written && readKey === key;
  if (plain && keys.bare === keys.read) return written;
  if (reach === 'any') {
    return written || (!plain && keyMatches(keys.read, readKey)) || (keys.bare !== keys.read && keyMatches(keys.bare, readKey));
  }
  if (!written || (!plain && !keyMatches(keys.read, readKey))) return false;
  // Without its parameters a request can never match an entry that names one; the readings above decided.
  return keys.bare === keys.read || keyMatches(keys.bare, readKey) || entryHasParams(readKey);
}

function entryHasParams(key: string): boolean {
  const q = key.indexOf('?');
  const semi = key.indexOf(';');
  return semi >= 0 && (q < 0 || semi < q);
}

/**
 * Whether a URL entry's key covers a request's: squidGuard entries match at path-segment
 * boundaries, so after the entry comes nothing, '/', '?', '&' or ';' (or the entry itself ends a
 * query part). The one rule for the blocklists and the policy's own site lists.
 */
export function keyMatches(key: string, entry: string): boolean {
  if (entry.length === 0) return true;
  if (!key.startsWith(entry)) return false;
  if (key.length === entry.length) return true;
  const next = key.charCodeAt(entry.length);
  if (next === 47 || next === 63 || next === 38 || next === 59) return true;
  const last = entry.charCodeAt(entry.length - 1);
  return last === 63 || last === 38 || last === 61;
}

/** The names on a hosts-file line: the leading address and localhost boilerplate dropped. */
const HOSTS_BOILERPLATE = new Set([
  'localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback',
  'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0',
]);
export function hostsLineNames(text: string): string[] {
  const tokens = text.split(/\s+/).filter(Boolean);
  if (tokens.length > 1 && /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]*)$/i.test(tokens[0]!)) tokens.shift();
  return tokens.filter((t) => !HOSTS_BOILERPLATE.has(t.toLowerCase()));
}

export function isSha256(text: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(text);
}
