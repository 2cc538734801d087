// The one path every request takes: plain HTTP, requests inside decrypted tunnels (the inner
// server's), and upgrade requests (WebSocket and the like), whichever server they arrive on.
// Facts → targetOf and judgeRequest (gate.ts) → carry out the verdict → record. The gate judges
// them all alike; this shell only finds out who is asking (sign-in is I/O), records, and acts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { answer, askToSignIn, plain, sendBlock, sendWarn } from './answers.js';
import { adopt, answering } from './connection-limits.js';
import { innerOf } from './decrypted-tunnel.js';
import { judgeRequest, targetOf, type GateSnapshot, type Identity, type KnownIdentity, type Target } from './gate.js';
import { relayHttp } from './http-relay.js';
import { ownPages } from './own-pages.js';
import { IGNORED, recordResponse } from './recording.js';
import type { ShellContext } from './shell-context.js';
import { identify, knownByNetwork } from './sign-in.js';
import { relayUpgrade, type Upgrade } from './upgrade-relay.js';

/** The servers' 'request' event. */
export function onRequest(ctx: ShellContext, req: IncomingMessage, res: ServerResponse): void {
  void handleRequest(ctx, req, res).catch((err: unknown) => {
    ctx.log.error({ err: String(err) }, 'request failed');
    if (!res.headersSent) plain(res, 502, 'Schoolgate could not complete this request.\n');
    else res.destroy();
  });
}

/** The servers' 'upgrade' event: the socket is the proxy's from here, and the request takes the same path. */
export function onUpgrade(ctx: ShellContext, req: IncomingMessage, socket: net.Socket, head: Buffer): void {
  adopt(ctx.tunnels, ctx.limits, socket);
  if (answering(socket)) return void socket.destroy();
  // The answer is written as any response is, on the taken-over socket, which then closes
  // unless the upgrade is joined upstream.
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    socket.end();
    socket.setTimeout(5_000, () => socket.destroy());
  });
  void handleRequest(ctx, req, res, { socket, head }).catch((err: unknown) => {
    ctx.log.error({ err: String(err) }, 'upgrade failed');
    if (!res.headersSent) plain(res, 502, 'Schoolgate could not complete this request.\n');
    else socket.destroy();
  });
}

/**
 * An allowed request goes upstream through the pooled relay, or (`upgrade`) over a connection
 * of its own that is joined to the client only when the server answers 101.
 */
async function handleRequest(ctx: ShellContext, req: IncomingMessage, res: ServerResponse, upgrade?: Upgrade): Promise<void> {
  // Held until the request is handed upstream (or answered): a swap meanwhile closes the old
  // upstream pool only after that. (One async function, not two: a promise fewer a request.)
  const snap = ctx.live.hold();
  try {
    return await serveRequest(ctx, snap, req, res, upgrade);
  } finally {
    ctx.live.release(snap);
  }
}

function serveRequest(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, upgrade: Upgrade | undefined): Promise<void> | void {
  const tunnel = innerOf(req);
  const method = req.method ?? 'GET';
  const target = targetOf(snap, { method, target: req.url ?? '/', httpVersionMajor: req.httpVersionMajor, via: req.headers.via, upgrade: upgrade !== undefined, tunnel });
  if (target.kind === 'own') return ownPages(ctx, snap, req, res, target.path);
  if (target.kind === 'plain') return answer(res, target);
  // Most requests are known by their network alone: judged without waiting for a promise.
  const who = tunnel ? tunnel.who : knownByNetwork(ctx, snap, req);
  if (who === null) return identify(ctx, snap, req).then((signedIn) => judgeAndAct(ctx, snap, req, res, upgrade, target, method, signedIn));
  return judgeAndAct(ctx, snap, req, res, upgrade, target, method, who);
}

function judgeAndAct(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, upgrade: Upgrade | undefined, target: Extract<Target, { kind: 'site' }>, method: string, who: Identity): Promise<void> | void {
  const verdict = judgeRequest(snap, {
    site: target, who, address: req.socket.remoteAddress, method, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders,
    contentLength: req.headers['content-length'], transferEncoding: req.headers['transfer-encoding'], upgrade: upgrade !== undefined, memory: ctx.memory,
  }, ctx.now());
  const act = verdict.act;
  if (act.kind === 'sign-in') return askToSignIn(res, act);
  const known = who as KnownIdentity; // a refused sign-in was answered above
  const outcome = verdict.record ? recordResponse(ctx, snap, req, res, known, verdict.record) : IGNORED;
  if (act.kind === 'plain') return answer(res, act);
  if (act.kind === 'warn') return sendWarn(ctx, snap, req, res, act.target, act.host, known, act.decision);
  if (act.kind === 'block') return sendBlock(snap, req, res, act.target, act.decision);
  if (upgrade) return relayUpgrade(snap, req, res, upgrade, act.to, outcome);
  return relayHttp(ctx, snap, req, res, act.to, act.hasBody, outcome);
}
