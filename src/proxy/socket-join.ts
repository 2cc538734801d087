// The one way two sockets are joined: CONNECT tunnels (connect-tunnel.ts) and upgrades answered
// 101 (upgrade-relay.ts, plain or inside a decrypted tunnel) all end here, so a tunnel is a
// tunnel however it was opened.
import type net from 'node:net';

/**
 * Joins a client to its connected upstream both ways: what the client sent while it was being
 * decided goes first, then each side's bytes go to the other, an end (half-close) is passed on,
 * and either side closing or failing closes both. The upstream is ended after `idleMs` idle.
 */
export function joinSockets(client: net.Socket, upstream: net.Socket, first: readonly Buffer[], idleMs: number): void {
  upstream.setTimeout(idleMs, () => upstream.destroy());
  for (const chunk of first) upstream.write(chunk);
  const close = (): void => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close);
  upstream.once('close', close);
  client.on('error', close);
  client.once('close', close);
  client.pipe(upstream).pipe(client);
  // A client paused while its first bytes were read (a tunnel's ClientHello) flows again.
  client.resume();
}

/**
 * Joins a CONNECT tunnel's client to its upstream once that is connected (`connected` says
 * whether it already is). `failed` is told when the upstream closes without ever connecting;
 * a client that leaves first closes the upstream too.
 */
export function joinTunnel(client: net.Socket, upstream: net.Socket, buffered: Buffer, connected: boolean, idleMs: number, failed: () => void): void {
  if (connected) return joinSockets(client, upstream, [buffered], idleMs);
  const close = (): void => {
    upstream.destroy();
    client.destroy();
  };
  const never = (): void => {
    failed();
    close();
  };
  upstream.on('error', close);
  upstream.once('close', never);
  client.once('close', close);
  client.once('end', close);
  upstream.once('connect', () => {
    upstream.off('error', close);
    upstream.off('close', never);
    client.off('close', close);
    client.off('end', close);
    joinSockets(client, upstream, [buffered], idleMs);
  });
}
