// Who a client is by address: how a network's clients sign in, and which key a device's limits
// are counted under. The address parsing and network matching are in src/net.
import { formatV4Groups, ipv6At, isMapped } from '../net/ip.js';

export type AuthMode = 'required' | 'optional' | 'off';

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
  if (isMapped(g)) return formatV4Groups(g[6]!, g[7]!);
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
