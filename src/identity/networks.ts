// Which group (or authentication mode) a client's address belongs to: the KS1 suite
// 10.1.1.0/24 → ks1, guest Wi-Fi 192.168.50.0/23 → guest, and so on.
//
// Two halves with different needs:
// - parseCidr() runs once per rule at config load, so it is thorough and slow on failure:
//   every error names what was written and how to write it properly (house rule 5).
// - NetworkMap.lookup() runs once per connection, so it parses with charCode loops (no
//   split, no regex, no allocation for IPv4) and probes one Map per prefix length that some
//   rule uses, longest first, so the first hit is the most specific rule.
//
// Pure: no I/O, no clocks, no module state; a NetworkMap is immutable once built, so it can
// sit in a policy snapshot and be swapped with one assignment.

export type AuthMode = 'required' | 'optional' | 'off';

export interface NetworkRule<T> {
  readonly cidr: string;
  readonly value: T;
}

export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly bits: number;
  /** normalised, e.g. "10.1.1.0/24", "2001:db8:10::/48" (lower case, RFC 5952 compression) */
  readonly text: string;
}

export interface CidrError {
  readonly error: string;
  readonly fix: string;
}

/** What the constructor throws: a RangeError, with the rule's position and the fix kept apart so the config loader can point at the YAML line. */
export class NetworkRuleError extends RangeError {
  override readonly name = 'NetworkRuleError';
  constructor(
    /** 0-based position in the rules given to the constructor */
    readonly index: number,
    readonly cidr: unknown,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`rules[${index}]: ${problem} (fix: ${fix})`);
  }
}

const EXAMPLE_FIX = 'write a network as address/prefix-length, e.g. "10.1.1.0/24" or "2001:db8:10::/48", or a single address such as "10.1.1.7"';

// ---------------------------------------------------------------------------------------------
// Fast address parsing, shared by parseCidr and lookup so the two can never disagree about
// what an address is. Strict on purpose, matching Node's net.isIP: no leading zeros in IPv4
// octets (inet_aton would read "010" as octal 8, so "010.1.1.1" is ambiguous), no shorthand
// forms ("10.1"), no brackets. Node reports remoteAddress in exactly these forms.

/** The dotted quad in s[start, end) as an unsigned 32-bit number, or -1. */
function ipv4At(s: string, start: number, end: number): number {
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
function ipv6At(s: string, start: number, end: number): number[] | undefined {
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
function isMapped(g: readonly number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

function groupsToBigInt(g: readonly number[]): bigint {
  // Two 16-bit groups per 32-bit word keeps BigInt work to four conversions.
  const w = (a: number | undefined, b: number | undefined): bigint => BigInt((a ?? 0) * 65536 + (b ?? 0));
  return (w(g[0], g[1]) << 96n) | (w(g[2], g[3]) << 64n) | (w(g[4], g[5]) << 32n) | w(g[6], g[7]);
}

/** How many 32-bit words an IPv6 prefix of this length reaches into (at least one, for /0). */
function v6Depth(bits: number): number {
  return bits === 0 ? 1 : Math.ceil(bits / 32);
}

function v4Mask(bits: number): number {
  // Spelled out because x << 32 is x << 0 in JavaScript: /0 must mask everything away.
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Formatting, for normalised text and suggested fixes.

function formatV4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first on a tie) as "::". */
function formatV6(v: bigint): string {
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
// parseCidr

/** A parsed rule with its number, which the public ParsedCidr leaves out. Exactly one of v4/v6 is meaningful. */
interface Network extends ParsedCidr {
  /** family 4: the network address as an unsigned 32-bit number */
  readonly v4: number;
  /** family 6: the network address */
  readonly v6: bigint;
}

/** An address (no prefix) as a family and a 128- or 32-bit value; IPv4-mapped IPv6 becomes IPv4. */
function addressValue(s: string): { family: 4 | 6; value: bigint; mapped: boolean } | undefined {
  const v4 = ipv4At(s, 0, s.length);
  if (v4 >= 0) return { family: 4, value: BigInt(v4), mapped: false };
  const g = ipv6At(s, 0, s.length);
  if (g === undefined) return undefined;
  const value = groupsToBigInt(g);
  return { family: 6, value, mapped: isMapped(g) };
}

/**
 * Parses "10.1.1.0/24", "10.1.1.7" (a /32), "2001:db8::/32", "2001:db8::1" (a /128) and
 * "::ffff:10.0.0.0/104". An IPv4-mapped prefix of /96 or longer is returned as the IPv4 network
 * it covers ("::ffff:10.0.0.0/104" → 10.0.0.0/8), because lookup treats mapped client addresses
 * as IPv4. Anything else gives an error naming what is wrong and a fix.
 */
export function parseCidr(text: string): ParsedCidr | CidrError {
  const r = parseNetwork(text);
  if ('error' in r) return r;
  return Object.freeze({ family: r.family, bits: r.bits, text: r.text });
}

function parseNetwork(text: unknown): Network | CidrError {
  if (typeof text !== 'string') {
    return { error: `expected the network as text, got ${text === null ? 'null' : typeof text}`, fix: EXAMPLE_FIX };
  }
  if (text.trim() === '') return { error: 'no network given', fix: EXAMPLE_FIX };
  if (/\s/.test(text)) {
    // Usually a stray space around the "/" or pasted from a document; offer the closed-up form if it works.
    const closed = text.replace(/\s+/g, '');
    const retry = parseNetwork(closed);
    return {
      error: `"${text}" contains spaces`,
      fix: 'error' in retry ? `remove the spaces; then: ${retry.fix}` : `write "${retry.text}"`,
    };
  }
  if (text.includes('%')) {
    return {
      error: `"${text}" has a zone id ("${/%[^/]*/.exec(text)?.[0] ?? '%'}"), which names an interface, not a network`,
      fix: `leave it out: "${text.replace(/%[^/]*/, '')}"`,
    };
  }
  if (text.startsWith('[')) {
    return { error: `"${text}" has brackets, which belong in URLs, not networks`, fix: `leave them out: "${text.replace(/[[\]]/g, '')}"` };
  }
  if (!text.includes('/')) {
    const range = text.includes('-') ? rangeError(text) : undefined;
    if (range !== undefined) return range;
    if (text.includes('*')) return wildcardError(text);
  }

  const slashes = text.split('/');
  if (slashes.length > 2) return { error: `"${text}" has more than one "/"`, fix: EXAMPLE_FIX };
  const [addrText = '', prefixText] = slashes;
  if (addrText === '') return { error: `"${text}" has no address before the "/"`, fix: EXAMPLE_FIX };

  const addr = addressValue(addrText);
  if (addr === undefined) return explainBadAddress(addrText, text);
  const width = addr.family === 4 ? 32 : 128;

  let bits = width;
  if (prefixText !== undefined) {
    if (prefixText === '') return { error: `"${text}" has no prefix length after the "/"`, fix: `give the number of network bits, e.g. "${addrText}/${width === 32 ? 24 : 64}"` };
    if (!/^\d+$/.test(prefixText)) return badPrefix(text, addrText, prefixText, width);
    bits = Number(prefixText);
    if (bits > width) {
      return {
        error: `prefix length /${prefixText} in "${text}" is longer than ${width}, the number of bits in an IPv${addr.family} address`,
        fix: `use a prefix length from 0 to ${width}${width === 32 ? ', e.g. /24 for 256 addresses' : ', e.g. /64 for one subnet'}`,
      };
    }
  }

  let family = addr.family;
  let value = addr.value;
  if (addr.mapped && bits >= 96) {
    family = 4;
    value &= 0xffffffffn;
    bits -= 96;
  }
  const w = family === 4 ? 32 : 128;
  const hostMask = (1n << BigInt(w - bits)) - 1n;
  if ((value & hostMask) !== 0n) {
    // "10.1.1.7/24": either the network (10.1.1.0/24) or the one address was meant; say both.
    const network = value & ~hostMask;
    const fmt = (v: bigint): string => (family === 4 ? formatV4(Number(v)) : formatV6(v));
    return {
      error: `"${text}" has host bits set: ${fmt(value)} is an address inside the network ${fmt(network)}/${bits}, not the start of it`,
      fix: `for the whole network write "${fmt(network)}/${bits}"; for that one address write "${fmt(value)}"`,
    };
  }
  const v4 = family === 4 ? Number(value) : 0;
  return {
    family,
    bits,
    text: `${family === 4 ? formatV4(v4) : formatV6(value)}/${bits}`,
    v4,
    v6: family === 6 ? value : 0n,
  };
}

/** Why s (the address before any "/") is not an address. Only runs on failure, so it can be slow and thorough. */
function explainBadAddress(s: string, whole: string): CidrError {
  const rest = whole.slice(s.length); // "/24", or "" for a single address
  const at = s === whole ? `"${s}"` : `"${s}" in "${whole}"`;
  const inAt = (part: string): string => `"${part}" in "${whole}"`;
  if (s.includes(':')) {
    const v6Fix = 'write 8 groups of 1 to 4 hex digits separated by ":", with at most one "::" standing for a run of zero groups, e.g. "2001:db8:10::/48"';
    if (s.split('::').length > 2) return { error: `${at} uses "::" more than once, so it is not clear how many zero groups each stands for`, fix: `keep one "::" and write the other zero groups as 0; ${v6Fix}` };
    const tail = s.slice(s.lastIndexOf(':') + 1);
    if (tail.includes('.') && ipv4At(tail, 0, tail.length) < 0) {
      return { error: `${inAt(tail)} is not a valid IPv4 address to end an IPv6 address with`, fix: 'give all four parts of the IPv4 address, each 0 to 255, e.g. "::ffff:10.1.1.0/120"' };
    }
    const parts = s.split(':');
    const bad = parts.find((p, k) => !(p === '' || /^[0-9a-f]{1,4}$/i.test(p) || (k === parts.length - 1 && p.includes('.'))));
    if (bad !== undefined) return { error: `${inAt(bad)} is not an IPv6 group (1 to 4 hex digits, 0-9 and a-f)`, fix: v6Fix };
    if (/^:[^:]/.test(s) || /[^:]:$/.test(s)) {
      return { error: `${at} starts or ends with a single ":"`, fix: `use "::" for zero groups at either end, e.g. "::1" or "2001:db8::"; ${v6Fix}` };
    }
    const groups = parts.filter((p) => p !== '').length + (tail.includes('.') ? 1 : 0);
    if (s.includes('::') && groups >= 8) return { error: `${at} has ${groups} groups and a "::", but "::" must stand for at least one zero group`, fix: `drop the "::" or a group; ${v6Fix}` };
    return { error: `${at} has ${groups} groups; an IPv6 address has 8, or fewer with "::" standing for the zero groups left out`, fix: v6Fix };
  }
  const parts = s.split('.');
  if (parts.length > 1 && parts.every((p) => /^\d*$/.test(p))) {
    const v4Fix = 'write four numbers from 0 to 255 separated by dots, e.g. "10.1.1.0/24"';
    if (parts.length !== 4) {
      return {
        error: `${at} has ${parts.length} parts; an IPv4 address has 4`,
        fix: parts.length < 4 ? `write all four parts, e.g. "10.1.0.0/16" rather than "10.1/16"` : v4Fix,
      };
    }
    if (parts.includes('')) return { error: `${at} has an empty part between dots`, fix: v4Fix };
    const big = parts.find((p) => Number(p) > 255);
    if (big !== undefined) return { error: `${inAt(big)} is not a number from 0 to 255, so it cannot be part of an IPv4 address`, fix: v4Fix };
    // Only a leading zero is left: inet_aton would read "010" as octal 8, so say what we assume.
    const decimal = parts.map((p) => String(Number(p))).join('.');
    return { error: `${at} has a number with a leading zero, which some systems read as octal`, fix: `write "${decimal}${rest}" if decimal was meant` };
  }
  if (parts.length === 4) {
    const bad = parts.find((p) => !/^\d+$/.test(p));
    if (bad !== undefined) return { error: `${inAt(bad)} is not a number from 0 to 255, so it cannot be part of an IPv4 address`, fix: 'write four numbers from 0 to 255 separated by dots, e.g. "10.1.1.0/24"' };
  }
  return { error: `${at} is not an IP address (rules match client addresses, not host names)`, fix: EXAMPLE_FIX };
}

function badPrefix(text: string, addrText: string, prefixText: string, width: number): CidrError {
  // Technicians coming from Windows or router UIs often write a dotted netmask.
  const mask = ipv4At(prefixText, 0, prefixText.length);
  if (width === 32 && mask >= 0) {
    const len = Math.clz32(~mask); // leading one bits; 32 for 255.255.255.255
    if (v4Mask(len) === mask) {
      return { error: `"${text}" gives a netmask (${prefixText}) where a prefix length belongs`, fix: `write "${addrText}/${len}"` };
    }
    return { error: `"${prefixText}" in "${text}" is not a netmask: its one bits are not all at the start`, fix: `write a prefix length instead, e.g. "${addrText}/24"` };
  }
  return { error: `"${prefixText}" in "${text}" is not a prefix length`, fix: `write the number of network bits, 0 to ${width}, e.g. "${addrText}/${width === 32 ? 24 : 64}"` };
}

/** "10.1.1.*": say which network it means. */
function wildcardError(text: string): CidrError {
  const parts = text.split('.');
  const firstStar = parts.indexOf('*');
  const fixed = parts.slice(0, firstStar);
  const wild = parts.slice(firstStar);
  if (parts.length === 4 && wild.every((p) => p === '*') && fixed.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    const network = [...fixed, ...wild.map(() => '0')].join('.');
    return { error: `"${text}" uses "*" wildcards`, fix: `write "${network}/${fixed.length * 8}"` };
  }
  return { error: `"${text}" uses "*" wildcards`, fix: EXAMPLE_FIX };
}

/**
 * "10.1.1.10-10.1.1.50": say which networks cover it, since DHCP pools are often written that
 * way. Undefined when the text is not two addresses around a "-" (a host name, say), so the
 * caller reports it as a bad address instead.
 */
function rangeError(text: string): CidrError | undefined {
  const ends = text.split('-');
  if (ends.length !== 2) return undefined;
  const first = addressValue(ends[0] ?? '');
  const last = addressValue(ends[1] ?? '');
  if (first === undefined || last === undefined) return undefined;
  const error = `"${text}" is a range written first-last; rules are networks written address/prefix-length`;
  if (first.family !== last.family || first.value > last.value) {
    return { error, fix: `${first.family !== last.family ? 'give both ends in the same family (IPv4 or IPv6)' : 'put the lower address first'}, then write the networks that cover it` };
  }
  const width = first.family === 4 ? 32 : 128;
  const fmt = (v: bigint): string => (first.family === 4 ? formatV4(Number(v)) : formatV6(v));
  // Greedy cover: at each step take the largest aligned block that starts here and stays inside.
  const cover: string[] = [];
  let at = first.value;
  const end = last.value;
  while (at <= end && cover.length <= 8) {
    let size = 0;
    while (size < width && (at & ((1n << BigInt(size + 1)) - 1n)) === 0n && at + (1n << BigInt(size + 1)) - 1n <= end) size++;
    cover.push(`${fmt(at)}/${width - size}`);
    at += 1n << BigInt(size);
  }
  if (cover.length === 1) return { error, fix: `write "${cover[0]}"` };
  if (cover.length <= 8) return { error, fix: `write it as ${cover.length} rules with the same value: ${cover.map((c) => `"${c}"`).join(', ')}` };
  return { error, fix: `write the networks that cover it as separate rules (it starts with "${cover[0]}"), or use one larger network if the extra addresses are the same kind of device` };
}

// ---------------------------------------------------------------------------------------------
// NetworkMap

/** One prefix length's rules: the mask to apply to an address and the map from masked address to rule index. */
interface V4Level {
  readonly mask: number;
  readonly rules: Map<number, number>;
}

/**
 * One IPv6 prefix length's rules as nested maps keyed by 32-bit words of the network address:
 * a /48 is word 0 then (word 1 masked), a /128 four levels deep. Number keys keep BigInt (about
 * ten times slower here) out of the per-connection path.
 */
interface V6Level {
  /** how many words the prefix reaches into, 1 to 4 (a /0 uses one word masked to nothing) */
  readonly depth: number;
  /** mask for the last word used */
  readonly mask: number;
  readonly rules: WordTrie;
}

/** Inner levels map a word to the next map; the last level maps the masked word to a rule index. */
type WordTrie = Map<number, WordTrie | number>;

export interface NetworkMatch<T> {
  /** the normalised network that matched, e.g. "10.1.1.0/24", for explanations */
  readonly network: string;
  readonly value: T;
}

export class NetworkMap<T> {
  readonly size: number;
  // Rule index → value/network text. Maps hold indices rather than values so a rule whose
  // value is undefined (or 0, or '') still counts as a match and stops the search.
  readonly #values: readonly T[];
  readonly #texts: readonly string[];
  // Longest prefix first, only lengths some rule uses: the first hit is the answer.
  readonly #v4: readonly V4Level[];
  readonly #v6: readonly V6Level[];

  /** Throws NetworkRuleError (a RangeError) naming the bad rule: an unparseable network, or a second rule for a network already given. */
  constructor(rules: readonly NetworkRule<T>[]) {
    if (!Array.isArray(rules)) throw new TypeError('NetworkMap needs an array of { cidr, value } rules');
    const values: T[] = [];
    const texts: string[] = [];
    const v4 = new Map<number, Map<number, number>>();
    const v6 = new Map<number, WordTrie>();
    const seen = new Map<string, number>();
    rules.forEach((rule: NetworkRule<T> | undefined, index) => {
      const cidr: unknown = rule?.cidr;
      const n = parseNetwork(cidr);
      if ('error' in n) throw new NetworkRuleError(index, cidr, n.error, n.fix);
      const earlier = seen.get(n.text);
      if (earlier !== undefined) {
        const earlierCidr = rules[earlier]?.cidr;
        // Show the normalised form when either was spelled differently, or the clash is not obvious.
        const same = n.text === cidr && n.text === earlierCidr ? '' : ` (${n.text})`;
        throw new NetworkRuleError(
          index,
          cidr,
          `"${String(cidr)}" is the same network${same} as rules[${earlier}] ("${String(earlierCidr)}"), so one of them could never match`,
          'keep one rule per network; to treat part of a network differently, add a rule for a smaller network inside it (a longer prefix wins)',
        );
      }
      seen.set(n.text, index);
      // Maps hold the position in values, not the rule index: they differ if rules has holes.
      const at = values.length;
      values.push(rule!.value); // rule is defined: parseNetwork rejected a missing cidr
      texts.push(n.text);
      if (n.family === 4) {
        let level = v4.get(n.bits);
        if (level === undefined) v4.set(n.bits, (level = new Map()));
        level.set(n.v4, at);
      } else {
        let node = v6.get(n.bits);
        if (node === undefined) v6.set(n.bits, (node = new Map()));
        const depth = v6Depth(n.bits);
        for (let j = 0; j < depth; j++) {
          const word = Number((n.v6 >> BigInt(96 - 32 * j)) & 0xffffffffn); // host bits are zero, so no masking needed
          if (j === depth - 1) {
            node.set(word, at);
          } else {
            let next = node.get(word);
            if (next === undefined) node.set(word, (next = new Map()));
            node = next as WordTrie; // inner levels only ever hold maps
          }
        }
      }
    });
    this.size = values.length;
    this.#values = values;
    this.#texts = texts;
    this.#v4 = [...v4].sort((a, b) => b[0] - a[0]).map(([bits, map]) => ({ mask: v4Mask(bits), rules: map }));
    this.#v6 = [...v6]
      .sort((a, b) => b[0] - a[0])
      .map(([bits, rules]) => ({ depth: v6Depth(bits), mask: v4Mask(bits - 32 * (v6Depth(bits) - 1)), rules }));
  }

  /**
   * The value of the longest (most specific) network containing the address, or undefined.
   * Accepts IPv4, IPv6, IPv4-mapped IPv6 ("::ffff:10.1.1.5", matched against the IPv4 rules)
   * and zone ids ("fe80::1%eth0", ignored). Never throws: anything unparseable (including
   * undefined, which socket.remoteAddress can be once a socket has closed) gives undefined.
   */
  lookup(address: string | undefined): T | undefined {
    const i = this.#find(address);
    return i < 0 ? undefined : this.#values[i];
  }

  /** Like lookup, but also says which network matched, for explain output and logs. */
  match(address: string | undefined): NetworkMatch<T> | undefined {
    const i = this.#find(address);
    if (i < 0) return undefined;
    return { network: this.#texts[i] ?? '', value: this.#values[i] as T };
  }

  #find(address: unknown): number {
    if (typeof address !== 'string') return -1;
    const len = address.length;
    // Plain IPv4 is by far the commonest (school LANs), so try it first without looking further.
    let a = ipv4At(address, 0, len);
    if (a < 0) {
      let end = address.indexOf('%');
      if (end < 0) end = len;
      else if (end === len - 1) return -1; // "%" with no zone after it
      const g = ipv6At(address, 0, end);
      if (g === undefined) return -1;
      if (!isMapped(g)) return this.#find6(g);
      a = ((g[6] ?? 0) * 65536 + (g[7] ?? 0)) >>> 0;
    }
    for (const level of this.#v4) {
      const i = level.rules.get((a & level.mask) >>> 0);
      if (i !== undefined) return i;
    }
    return -1;
  }

  #find6(g: readonly number[]): number {
    if (this.#v6.length === 0) return -1;
    const w0 = (g[0] ?? 0) * 65536 + (g[1] ?? 0);
    const w1 = (g[2] ?? 0) * 65536 + (g[3] ?? 0);
    const w2 = (g[4] ?? 0) * 65536 + (g[5] ?? 0);
    const w3 = (g[6] ?? 0) * 65536 + (g[7] ?? 0);
    for (const level of this.#v6) {
      const last = level.depth - 1;
      let node: WordTrie | number | undefined = level.rules;
      for (let j = 0; j < last && node !== undefined; j++) node = (node as WordTrie).get(j === 0 ? w0 : j === 1 ? w1 : w2);
      if (node === undefined) continue;
      const word = last === 0 ? w0 : last === 1 ? w1 : last === 2 ? w2 : w3;
      const i = (node as WordTrie).get((word & level.mask) >>> 0);
      if (i !== undefined) return i as number;
    }
    return -1;
  }
}

/**
 * The key a device's limits are counted under: its IPv4 address (also when a dual-stack socket
 * reports it as ::ffff:a.b.c.d), or its IPv6 /64. A device may use any address in its /64
 * (privacy addresses change daily, and more can be made at will), so counting whole IPv6
 * addresses would let one device multiply every per-device limit.
 */
export function deviceKey(address: string): string {
  const bare = address.replace(/%.*$/, '').toLowerCase();
  if (!bare.includes(':')) return bare;
  const g = ipv6At(bare, 0, bare.length);
  if (g === undefined) return address;
  if (isMapped(g)) return formatV4(((g[6]! << 16) | g[7]!) >>> 0);
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
