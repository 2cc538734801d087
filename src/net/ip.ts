// IP addresses as text: parsing, formatting and the few questions the rest of the code asks
// ("is this an address?", "which IPv4 client is this mapped address?", "what is its canonical
// spelling?"). One parser, so the config checks, the network rules, URL hosts, PAC entries and
// certificate names can never disagree about what an address is.
//
// Strict on purpose, matching Node's net.isIP: no leading zeros in IPv4 octets (inet_aton would
// read "010" as octal 8, so "010.1.1.1" is ambiguous), no shorthand forms ("10.1"), no brackets.
// Node reports remoteAddress in exactly these forms. Parsing uses charCode loops (no split, no
// regex, no allocation for IPv4) because NetworkMap.lookup runs it once per connection.
//
// Pure: no I/O, no clocks, no module state.
import { isIP } from 'node:net';

/** The dotted quad in s[start, end) as an unsigned 32-bit number, or -1. */
export function ipv4At(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  // Multiplication, not <<, so the result stays unsigned for octets ≥ 128.
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The IPv6 address in s[start, end) as eight 16-bit groups, or undefined. Accepts "::"
 * (standing for one or more zero groups, at most once), 1–4 hex digits per group in either
 * case, and a dotted IPv4 tail ("::ffff:10.1.1.5") in place of the last two groups.
 */
export function ipv6At(s: string, start: number, end: number): number[] | undefined {
  if (start >= end) return undefined;
  const groups: number[] = [];
  let gap = -1; // where "::" was, as an index into groups
  let i = start;
  if (s.charCodeAt(i) === 58 /* : */) {
    // Only "::" may start an address; a lone leading ":" is a typo.
    if (s.charCodeAt(i + 1) !== 58) return undefined;
    gap = 0;
    i += 2;
    if (i === end) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  for (;;) {
    // One group: find where it ends, then decide whether it is hex or a dotted IPv4 tail.
    let j = i;
    let dotted = false;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) dotted = true;
      j++;
    }
    if (dotted) {
      if (j !== end || groups.length > 6) return undefined;
      const v4 = ipv4At(s, i, j);
      if (v4 < 0) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 & 0xffff);
      break;
    }
    const len = j - i;
    if (len === 0 || len > 4 || groups.length === 8) return undefined;
    let g = 0;
    for (let k = i; k < j; k++) {
      const h = hexValue(s.charCodeAt(k));
      if (h < 0) return undefined;
      g = g * 16 + h;
    }
    groups.push(g);
    if (j === end) break;
    // s[j] is ":"
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return undefined; // a second "::" would make the address ambiguous
      gap = groups.length;
      i = j + 2;
      if (i === end) break;
      if (s.charCodeAt(i) === 58) return undefined; // ":::"
    } else {
      i = j + 1;
      if (i === end) return undefined; // trailing single ":"
    }
  }
  if (gap < 0) return groups.length === 8 ? groups : undefined;
  // "::" must stand for at least one group (Node agrees: "1:2:3:4:5:6:7::8" is not an address).
  if (groups.length > 7) return undefined;
  // Move the groups after the gap to the end, zero-filling the middle (no splice/spread: hot path).
  const n = groups.length;
  const after = n - gap;
  for (let k = 7; k >= 8 - after; k--) groups[k] = groups[k - 8 + n] ?? 0;
  for (let k = gap; k < 8 - after; k++) groups[k] = 0;
  return groups;
}

/** ::ffff:a.b.c.d is how a dual-stack socket reports an IPv4 client, so it is that IPv4 address. */
export function isMapped(g: readonly number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

export function groupsToBigInt(g: readonly number[]): bigint {
  // Two 16-bit groups per 32-bit word keeps BigInt work to four conversions.
  const w = (a: number | undefined, b: number | undefined): bigint => BigInt((a ?? 0) * 65536 + (b ?? 0));
  return (w(g[0], g[1]) << 96n) | (w(g[2], g[3]) << 64n) | (w(g[4], g[5]) << 32n) | w(g[6], g[7]);
}

export function v4Mask(bits: number): number {
  // Spelled out because x << 32 is x << 0 in JavaScript: /0 must mask everything away.
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Formatting, for normalised text and suggested fixes.

export function formatV4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** The IPv4 address held in two 16-bit groups (the tail of a mapped, NAT64 or 6to4 address). */
export function formatV4Groups(hi: number, lo: number): string {
  return formatV4(((hi << 16) | lo) >>> 0);
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first on a tie) as "::". */
export function formatV6(v: bigint): string {
  const g: number[] = [];
  for (let k = 7; k >= 0; k--) g.push(Number((v >> BigInt(k * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestAt = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (part: number[]): string => part.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

// ---------------------------------------------------------------------------------------------
// Whole addresses

/** An address (no prefix) as a family and a 128- or 32-bit value; IPv4-mapped IPv6 becomes IPv4. */
export function addressValue(s: string): { family: 4 | 6; value: bigint; mapped: boolean } | undefined {
  const v4 = ipv4At(s, 0, s.length);
  if (v4 >= 0) return { family: 4, value: BigInt(v4), mapped: false };
  const g = ipv6At(s, 0, s.length);
  if (g === undefined) return undefined;
  const value = groupsToBigInt(g);
  return { family: 6, value, mapped: isMapped(g) };
}

// ---------------------------------------------------------------------------------------------
// Questions callers ask

/** 4, 6 or 0: Node's own answer (an IPv6 address may carry a zone id, "fe80::1%eth0"), typed. */
export function ipFamily(s: string): 0 | 4 | 6 {
  return isIP(s) as 0 | 4 | 6;
}

/** True for the one canonical IPv4 spelling: four decimal parts, 0–255, no leading zeros. */
export function isDottedQuad(s: string): boolean {
  return ipv4At(s, 0, s.length) >= 0;
}

/** "[::1]" → "::1"; anything else unchanged. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: that client is a.b.c.d (in
 * logs, headers and queries alike). Anything else is returned as given.
 */
export function clientAddress(address: string | undefined): string {
  const a = address ?? '';
  if (a.length < 14 || a.charCodeAt(0) !== 58 || a.charCodeAt(1) !== 58 || a.slice(2, 7).toLowerCase() !== 'ffff:') return a;
  return ipv4At(a, 7, a.length) >= 0 ? a.slice(7) : a;
}

/**
 * The canonical text of an IP address host ("[::1]", "::1", "127.0.0.1"), or null for a name:
 * IPv4 as given, IPv6 lower case and compressed as the URL parser writes it (RFC 5952, an
 * embedded IPv4 in hexadecimal). A zone id (fe80::1%eth0) names a local interface, not part of
 * the address, so it is left out.
 */
export function canonicalIp(host: string): string | null {
  const bare = unbracket(host);
  if (ipv4At(bare, 0, bare.length) >= 0) return bare;
  const zone = bare.indexOf('%');
  const g = ipv6At(bare, 0, zone < 0 ? bare.length : zone);
  return g === undefined ? null : formatV6(groupsToBigInt(g));
}
