// The one way two sockets are joined: CONNECT tunnels (connect-tunnel.ts) and upgrades answered
// 101 (upgrade-relay.ts, plain or inside a decrypted tunnel) all end here, so a tunnel is a
// tunnel however it was opened.
import type net from 'node:net';

/**
 * The bytes a joined pair has passed, counted as they pass: to the upstream (`bytesWritten`,
 * the client's first bytes included) and from it (`bytesRead`). Reading Socket.bytesWritten
 * instead walked the socket's write queue, about 2 % of a tunnel's CPU (bench/RESULTS.md).
 */
export class Relayed {
  bytesWritten = 0;
  bytesRead = 0;
}

/**
 * Joins a client to its connected upstream both ways: what the client sent while it was being
 * decided goes first, then each side's bytes go to the other (a side that cannot take more
 * pauses the other until it drains), an end (half-close) is passed on, and either side closing
 * or failing closes both. The upstream is ended after `idleMs` idle. Plain 'data' handlers
 * rather than stream.pipe(): pipe's seven listeners a direction and their removal at the close
 * cost more than the relaying of a short tunnel.
 */
export function joinSockets(client: net.Socket, upstream: net.Socket, first: readonly Buffer[], idleMs: number, counts: Relayed = new Relayed()): void {
  upstream.setTimeout(idleMs, () => upstream.destroy());
  for (const chunk of first) {
    counts.bytesWritten += chunk.length;
    upstream.write(chunk);
  }
  const close = (): void => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close);
  upstream.once('close', close);
  client.on('error', close);
  client.once('close', close);
  client.on('data', (chunk: Buffer) => {
    counts.bytesWritten += chunk.length;
    if (!upstream.write(chunk)) client.pause();
  });
  upstream.on('data', (chunk: Buffer) => {
    counts.bytesRead += chunk.length;
    if (!client.write(chunk)) upstream.pause();
  });
  upstream.on('drain', () => client.resume());
  client.on('drain', () => upstream.resume());
  client.once('end', () => upstream.end());
  upstream.once('end', () => client.end());
  // A client paused while its first bytes were read (a tunnel's ClientHello) flows again.
  client.resume();
}

/**
 * Joins a CONNECT tunnel's client to its upstream once that is connected (`connected` says
 * whether it already is). `failed` is told when the upstream closes without ever connecting;
 * a client that leaves first closes the upstream too.
 */
export function joinTunnel(client: net.Socket, upstream: net.Socket, buffered: Buffer, connected: boolean, idleMs: number, failed: () => void, counts: Relayed = new Relayed()): void {
  if (connected) return joinSockets(client, upstream, [buffered], idleMs, counts);
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
    joinSockets(client, upstream, [buffered], idleMs, counts);
  });
}
