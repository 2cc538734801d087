// The proxy listener as a part of a running process (the one process, or a proxy worker): it
// listens on every configured address and, when stopping, refuses new connections, lets
// requests and tunnels in flight finish until the cut, then cuts what is left.
import type { AddressInfo } from 'node:net';
import { listenAll, type Wanted } from '../proxy/listen.js';
import type { Proxy } from '../proxy/server.js';
import { settlesBy, type Stopping } from './stopping.js';

/** Listens; the port listened on (port 0 picks one). */
export async function serveProxy(proxy: Proxy, addresses: readonly string[], wanted: Wanted, parts: Stopping): Promise<number> {
  const { server, destroyTunnels } = proxy;
  const extraListeners = await listenAll(server, addresses, wanted.port, wanted);
  let proxyClosed: Promise<void> = Promise.resolve();
  parts.add({
    name: 'proxy',
    begin: () => {
      for (const l of extraListeners) l.close();
      proxyClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
    },
    finish: async (cutAt) => {
      if (!await settlesBy(proxyClosed, cutAt)) server.closeAllConnections();
      destroyTunnels();
      await proxyClosed;
    },
  });
  return (server.address() as AddressInfo).port;
}
