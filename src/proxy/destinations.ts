// Where the proxy may connect. A pupil must not reach the school's own servers, the admin UI or
// the proxy itself through the proxy, so loopback, private and link-local addresses are
// refused unless the configuration allows that range. The check runs inside the DNS lookup the
// connection itself uses, so a public name that resolves to a private address is caught too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { NetworkMap } from '../identity/networks.js';

const PRIVATE = new NetworkMap<true>([
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16',
  '::/128', '::1/128', 'fc00::/7', 'fe80::/10',
].map((cidr) => ({ cidr, value: true as const })));

export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** True when the address may be connected to: public, or in a configured allowed range. */
export function destinationAllowed(address: string, allowed: NetworkMap<true>): boolean {
  return PRIVATE.lookup(address) === undefined || allowed.lookup(address) === true;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup for net.connect and undici that refuses private destinations. */
export function guardedLookup(allowed: NetworkMap<true>) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const ok = list.filter((a) => destinationAllowed(a.address, allowed));
      if (ok.length === 0) {
        const e: NodeJS.ErrnoException = new DestinationError(`${hostname} resolves to a private address (${list.map((a) => a.address).join(', ')}), which the proxy does not reach`);
        e.code = 'ESCHOOLGATEPRIVATE';
        return callback(e, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

/** For a literal IP or "localhost" host: refused before any lookup. */
export function literalRefused(host: string, allowed: NetworkMap<true>): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(bare)) return !destinationAllowed(bare, allowed);
  return (host === 'localhost' || host.endsWith('.localhost')) && !destinationAllowed('127.0.0.1', allowed);
}
