// Which value a client's address maps to, by the longest network that contains it: the KS1 suite
// 10.1.1.0/24 → ks1, guest Wi-Fi 192.168.50.0/23 → guest, private ranges → refused, and so on.
//
// The constructor parses each rule once (cidr.ts, with its errors). lookup() runs once per
// connection, so it parses with charCode loops (ip.ts) and probes one Map per prefix length
// that some rule uses, longest first, so the first hit is the most specific rule.
//
// Pure: a NetworkMap is immutable once built, so it can sit in a policy snapshot and be swapped
// with one assignment.
import { parseNetwork } from './cidr.js';
import { ipv4At, ipv6At, isMapped, v4Mask } from './ip.js';

export interface NetworkRule<T> {
  readonly cidr: string;
  readonly value: T;
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

/** How many 32-bit words an IPv6 prefix of this length reaches into (at least one, for /0). */
function v6Depth(bits: number): number {
  return bits === 0 ? 1 : Math.ceil(bits / 32);
}

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

