// The HTTP relay: an allowed request goes upstream through the snapshot's pooled undici Agent
// (upstream.ts: keep-alive connections, verified HTTPS for decrypted tunnels), its body streamed
// up and the answer streamed back, within the device's share of the site's connections. A site
// that fails is answered by upstream-failure.ts.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { plain } from './answers.js';
import { guardBody } from './body-guard.js';
import { deviceOf } from './connection-limits.js';
import { forwardResponseHeaders } from './forward-headers.js';
import type { Destination, GateSnapshot } from './gate.js';
import { whenOver, type OutcomeTracker } from './recording.js';
import type { ShellContext } from './shell-context.js';
import { refusedByProxy } from './traffic-record.js';
import { answerFailure } from './upstream-failure.js';

/** The pooled relay: the request streams upstream, the answer streams back. */
export async function relayHttp(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, to: Destination, hasBody: boolean, outcome: OutcomeTracker): Promise<void> {
  const proxy = snap.config.proxy;
  // The client left while it was being decided: nothing to send it, nothing to ask upstream.
  if (res.destroyed || req.socket.destroyed) return;
  const origin = `${to.scheme}://${to.host}:${to.port}`;
  const device = deviceOf(req.socket);
  const shares = ctx.shares;
  const share = shares.take(device, origin);
  if (share === null) {
    outcome.set(refusedByProxy('too many requests to this site from one device'));
    ctx.log.warn({ address: device, origin, limit: proxy.limits.upstreamPerClient }, 'request refused: this device already holds its share of the site\'s connections');
    res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5', 'cache-control': 'no-store' });
    return void res.end(`This device already has ${proxy.limits.upstreamPerClient} requests open to ${to.host}. Wait for them to finish, then try again.\n`);
  }
  let released = false;
  const release = (): void => {
    if (!released) shares.release(share);
    released = true;
  };
  // A client that leaves ends the upstream request too: while waiting for the answer through
  // the signal (an EventEmitter: an AbortController costs more per request), after it by
  // destroying the body, which would otherwise stall writing into a closed response.
  const cancel = new EventEmitter();
  let upstreamBody: Readable | null = null;
  whenOver(res, req.socket, () => {
    release();
    if (upstreamBody === null) cancel.emit('abort');
    else if (!upstreamBody.readableEnded) upstreamBody.destroy();
  });
  let slow: string | null = null;
  const body = hasBody ? guardBody(req, proxy.limits, (reason) => {
    slow = reason;
    outcome.set(refusedByProxy(`request body too slow: ${reason}`));
    ctx.log.warn({ address: device, host: to.host, reason }, 'request ended: its body came too slowly');
    if (res.headersSent) return void res.destroy();
    res.shouldKeepAlive = false;
    plain(res, 408, `Schoolgate stopped waiting for this upload: ${reason}.\n`);
  }) : null;
  let upstream;
  try {
    upstream = await snap.upstream.agent.request({
      origin, path: to.path, method: req.method ?? 'GET', headers: to.headers, signal: cancel, ...(body ? { body } : {}),
    });
  } catch (err) {
    release();
    if (slow !== null || res.headersSent || res.destroyed) return;
    return answerFailure(snap, req, res, err as NodeJS.ErrnoException, to.host, outcome);
  }
  if (res.destroyed || slow !== null) return void upstream.body.destroy();
  // An answer before the whole upload arrived: the rest of the body will not be read, so the
  // connection cannot carry another request.
  if (hasBody && !req.complete) res.shouldKeepAlive = false;
  res.writeHead(upstream.statusCode, forwardResponseHeaders(rawHeaderList(upstream.headers), '1.1', proxy.via));
  // .pipe() rather than stream.pipeline(): pipeline builds an AbortController and a
  // DOMException per response, 7 % of the proxy's CPU in bench/proxy.ts.
  const answer = upstream.body;
  answer.on('error', () => res.destroy());
  upstreamBody = answer;
  answer.pipe(res);
}

/** undici's header object as a raw name, value list (repeated headers stay repeated). */
function rawHeaderList(headers: Record<string, string | string[] | undefined>): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  return raw;
}
