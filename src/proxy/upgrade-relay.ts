// Upgrades (WebSocket and the like), plain or inside a decrypted tunnel, once the gate allowed
// them: the request goes upstream on a connection of its own, and the two sockets are joined
// (socket-join.ts) only when the server answers 101 Switching Protocols.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { forwardResponseHeaders } from './forward-headers.js';
import type { Destination, GateSnapshot } from './gate.js';
import type { OutcomeTracker } from './recording.js';
import { joinSockets } from './socket-join.js';
import { answerFailure } from './upstream-failure.js';

/** A request that asked to switch protocols: the client's socket, and what it sent after the request's head. */
export interface Upgrade {
  readonly socket: net.Socket;
  readonly head: Buffer;
}

/** What a client may send after an upgrade request before the server has answered it. */
const MAX_HELD_BYTES = 64 * 1024;

/**
 * Any answer but 101 is relayed as an ordinary response and the connection closed, so bytes the
 * client sent after the upgrade request (more requests, smuggled past the filter) never reach
 * the server.
 */
export function relayUpgrade(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, client: Upgrade, to: Destination, outcome: OutcomeTracker): void {
  const proxy = snap.config.proxy;
  if (client.socket.destroyed) return;
  const dialHost = to.host.replace(/^\[|\]$/g, '');
  const common = {
    host: dialHost, port: to.port, method: req.method ?? 'GET', path: to.path, headers: to.headers, agent: false as const, setHost: false,
    lookup: snap.upstream.lookup as never, timeout: proxy.limits.upstreamTimeoutMs,
  };
  // Inside a decrypted tunnel the upstream is TLS, verified like any other (upstreamTls).
  const up = to.scheme === 'https'
    ? https.request({ ...common, ...snap.upstream.tlsFor(dialHost) })
    : http.request(common);
  const socket = client.socket;
  // Until the server answers, what the client sends is read and held (so that its leaving is
  // seen: a half-closed socket that nobody reads never closes), up to a bound.
  const held: Buffer[] = client.head.length > 0 ? [client.head] : [];
  let heldBytes = client.head.length;
  const leave = (): void => void up.destroy();
  const hold = (chunk: Buffer): void => {
    heldBytes += chunk.length;
    if (heldBytes > MAX_HELD_BYTES) return void socket.destroy();
    held.push(chunk);
  };
  socket.on('data', hold);
  socket.once('end', leave);
  socket.once('close', leave);
  up.on('timeout', () => up.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
  up.on('error', (err: NodeJS.ErrnoException) => {
    if (res.headersSent || socket.destroyed) return void socket.destroy();
    answerFailure(snap, req, res, err, to.host, outcome);
  });
  up.on('upgrade', (answer: IncomingMessage, upstream: net.Socket, upstreamHead: Buffer) => {
    socket.off('data', hold);
    socket.off('end', leave);
    if (socket.destroyed) return void upstream.destroy();
    res.statusCode = 101;
    const lines = forwardResponseHeaders(answer.rawHeaders, '1.1', proxy.via);
    let text = `HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}\r\n`;
    for (let i = 0; i < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
    socket.write(`${text}\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    joinSockets(socket, upstream, held, proxy.limits.tunnelIdleTimeoutMs);
  });
  up.on('response', (answer: IncomingMessage) => {
    // Not switched: this is the whole exchange. What the client sent after its upgrade request
    // is dropped with the connection.
    res.shouldKeepAlive = false;
    res.writeHead(answer.statusCode ?? 502, forwardResponseHeaders(answer.rawHeaders, answer.httpVersion === '1.0' ? '1.0' : '1.1', proxy.via));
    answer.on('error', () => res.destroy());
    answer.on('end', () => up.destroy());
    answer.pipe(res);
  });
  up.end();
}
