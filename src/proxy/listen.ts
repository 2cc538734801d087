// Where Schoolgate listens. Every port is checked before anything is served, so a port already
// in use stops the start with the setting to change rather than leave half a Schoolgate running;
// `::` is every address, IPv6 and IPv4, falling back to IPv4 alone on a machine without IPv6.
import net from 'node:net';
import type { Logger } from '../log.js';

/** A listener Schoolgate needs: what it is for, and the setting and flag that choose its port. */
export interface Wanted {
  readonly what: string;
  readonly addresses: readonly string[];
  readonly port: number;
  readonly setting: string;
  readonly flag: string;
}

/** A port that cannot be listened on, with what to change. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/**
 * Binds and at once releases each address and port, so that a start that cannot listen fails
 * before it serves anything. Returns the addresses to use: `::` becomes `0.0.0.0` where the
 * machine has no IPv6.
 */
export async function checkPorts(wanted: readonly Wanted[], log: Logger): Promise<string[][]> {
  const out: string[][] = [];
  for (const w of wanted) {
    const addresses: string[] = [];
    for (const address of w.addresses) {
      const err = await tryListen(address, w.port);
      if (err && address === '::' && NO_IPV6.has(err.code ?? '')) {
        log.warn({ what: w.what }, 'this machine has no IPv6: listening on IPv4 only');
        const v4 = await tryListen('0.0.0.0', w.port);
        if (v4) throw listenError(w, '0.0.0.0', v4);
        if (!addresses.includes('0.0.0.0')) addresses.push('0.0.0.0');
        continue;
      }
      if (err) throw listenError(w, address, err);
      addresses.push(address);
    }
    out.push(addresses);
  }
  return out;
}

/**
 * Listens on every address: the first on `server` itself, the rest through plain listeners
 * that hand their connections to it, so one server (its limits, its connection count) serves
 * them all. Returns the extra listeners, to close with the server.
 */
export async function listenAll(server: net.Server, addresses: readonly string[], port: number, wanted: Wanted): Promise<net.Server[]> {
  const [first, ...rest] = addresses;
  await listenOn(server, first!, port, wanted);
  // Port 0 (tests) is whatever the first listener got.
  const chosen = (server.address() as net.AddressInfo).port;
  const extra: net.Server[] = [];
  for (const address of rest) {
    const more = net.createServer((socket) => server.emit('connection', socket));
    await listenOn(more, address, chosen, wanted);
    extra.push(more);
  }
  return extra;
}

function listenOn(server: net.Server, address: string, port: number, wanted: Wanted): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => reject(listenError(wanted, address, err));
    server.once('error', fail);
    server.listen({ port, host: address, ipv6Only: false }, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

function tryListen(address: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    probe.listen({ port, host: address, ipv6Only: false, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

function listenError(w: Wanted, address: string, err: NodeJS.ErrnoException): ListenError {
  const where = `${address.includes(':') ? `[${address}]` : address}:${w.port}`;
  const why = err.code === 'EADDRINUSE' ? 'is already in use by another program (another Schoolgate?)'
    : err.code === 'EACCES' ? 'needs privileges this process does not have (ports below 1024)'
      : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine'
        : `cannot be listened on (${err.code ?? err.message})`;
  return new ListenError(`the ${w.what} cannot listen: ${where} ${why}. Choose another port with ${w.setting} in the configuration or ${w.flag} N, or stop what holds it.`);
}
