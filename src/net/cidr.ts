// Networks written as text ("10.1.1.0/24", "2001:db8:10::/48", "10.1.1.7"), parsed once per rule
// at config load. Thorough and slow on failure: every error names what was written and how to
// write it properly (house rule 5), including the forms technicians bring from elsewhere
// (netmasks, ranges, wildcards, brackets, zone ids).
//
// Pure: no I/O, no clocks, no module state.
import { addressValue, formatV4, formatV6, ipv4At, v4Mask } from './ip.js';

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

const EXAMPLE_FIX = 'write a network as address/prefix-length, e.g. "10.1.1.0/24" or "2001:db8:10::/48", or a single address such as "10.1.1.7"';

/** A parsed rule with its number, which the public ParsedCidr leaves out. Exactly one of v4/v6 is meaningful. */
export interface Network extends ParsedCidr {
  /** family 4: the network address as an unsigned 32-bit number */
  readonly v4: number;
  /** family 6: the network address */
  readonly v6: bigint;
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

export function parseNetwork(text: unknown): Network | CidrError {
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

