// Listening and its limits: the HTTP servers' timeouts and sizes, at most so many connections
// from one device, what a malformed or slow request is answered, and the idle limit on sockets
// taken over from the HTTP server (CONNECT tunnels, upgrades), which it no longer counts.
import type http from 'node:http';
import type { ServerResponse } from 'node:http';
import type net from 'node:net';
import { deviceKey } from '../identity/networks.js';
import type { Logger } from '../log.js';
import type { ProxyLimits } from './config.js';

/** Options for both HTTP servers (the listening one and the one decrypted tunnels are handed to). */
export function serverOptions(limits: ProxyLimits): http.ServerOptions {
  return {
    requestTimeout: 0, headersTimeout: limits.headerTimeoutMs, keepAliveTimeout: limits.idleTimeoutMs, maxHeaderSize: limits.maxHeaderBytes,
    // Node only checks header timeouts this often (30 s by default): keep it well inside the limit.
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, limits.headerTimeoutMs / 4)),
  };
}

/** One address may not hold every connection the proxy can serve. */
export function capPerClient(server: http.Server, limits: ProxyLimits, log: Logger): void {
  const perClient = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const address = deviceOf(socket);
    const open = (perClient.get(address) ?? 0) + 1;
    if (open > limits.connectionsPerClient) {
      log.warn({ address, limit: limits.connectionsPerClient }, 'connection refused: too many from one address');
      return void socket.destroy();
    }
    perClient.set(address, open);
    socket.once('close', () => {
      const left = (perClient.get(address) ?? 1) - 1;
      if (left === 0) perClient.delete(address);
      else perClient.set(address, left);
    });
  });
}

/** A request Node could not parse, or whose head came too slowly or was too large. */
export function onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
  // Once a response has begun (a bad chunk in an upload being relayed), an error status would
  // land inside its body: only closing is left.
  if (!socket.writable || responding(socket)?.headersSent) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Sockets taken over from the HTTP server (CONNECT, upgrades): counted here, and ended when idle. */
export function adopt(tunnels: Set<net.Socket>, limits: ProxyLimits, socket: net.Socket): void {
  tunnels.add(socket);
  socket.setTimeout(limits.tunnelIdleTimeoutMs, () => socket.destroy());
  socket.on('close', () => tunnels.delete(socket));
  socket.on('error', () => socket.destroy());
}

/** The response Node is writing on a connection now, if any. */
function responding(socket: net.Socket): ServerResponse | null | undefined {
  return (socket as net.Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
}

/**
 * True while an earlier request on the socket is still being answered: an upgrade or CONNECT
 * pipelined behind it cannot take the socket over (browsers never do this; Node would throw).
 */
export function answering(socket: net.Socket): boolean {
  return responding(socket) != null;
}

const DEVICE = Symbol('schoolgate.device');

/**
 * The device a connection belongs to (identity/networks deviceKey), worked out once per
 * connection: a dual-stack socket reports every IPv4 client in IPv6 form, which takes parsing.
 */
export function deviceOf(socket: net.Socket): string {
  const s = socket as net.Socket & { [DEVICE]?: string };
  return (s[DEVICE] ??= deviceKey(socket.remoteAddress ?? ''));
}
