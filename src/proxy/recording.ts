// What is kept of each request and tunnel the gate decided: the safeguarding alert it raises
// (journalled before the answer goes back) and its traffic-log row, written when the response or
// the tunnel is over with the status, the bytes each way and the time taken.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { clientAddress } from '../net/ip.js';
import type { TrafficEntry } from '../store/traffic-entry.js';
import type { GateSnapshot, KnownIdentity, Recorded } from './gate.js';
import type { ShellContext } from './shell-context.js';
import { completeRow, type Decided, type Outcome, type TrafficSink } from './traffic-record.js';

/** Changes what a request's traffic-log row will say happened. */
export interface OutcomeTracker { set(o: Outcome): void }
/** For requests that are not recorded. */
export const IGNORED: OutcomeTracker = { set: () => undefined };

/** A decided request or tunnel: the traffic-log id reserved for its row, and its alert's id to come. */
export interface Raised {
  readonly trafficId: number | null;
  readonly alert: Promise<number | null> | null;
}

/**
 * Reserves the row's id and raises the alert a decided request or tunnel calls for (`what` names
 * it in the debug log).
 */
export function raiseFor(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, who: KnownIdentity, r: Recorded, what: 'request' | 'connect'): Raised {
  const d = r.decision!;
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ group: who.group, host: r.classification.url.host, action: d.action, rule: d.rule.kind }, what);
  const trafficId = ctx.traffic?.reserve() ?? null;
  return { trafficId, alert: raiseAlert(ctx, snap, r, req, who, trafficId) };
}

/** Raises the alert a decided request calls for and records the request when its response closes. */
export function recordResponse(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, who: KnownIdentity, r: Recorded): OutcomeTracker {
  const { trafficId, alert } = raiseFor(ctx, snap, req, who, r, 'request');
  return trackResponse(ctx, req, res, trafficId, r.row, r.outcome, alert);
}

/**
 * Safeguarding: every request, whatever the decision. The alert is in the journal (safe from a
 * crash of this process) when this returns, and stored in data/alerts.db by the writer thread
 * moments later: the promise gives its id then, for the traffic row. A failure must not take
 * the proxy down, and must not pass unseen: it is logged as an error with what would have been
 * raised.
 */
function raiseAlert(ctx: ShellContext, snap: GateSnapshot, r: Recorded, req: IncomingMessage, who: KnownIdentity, trafficId: number | null): Promise<number | null> | null {
  if (!ctx.alerts) return null;
  const c = r.classification;
  try {
    return ctx.alerts.raise(c, r.decision!, { client: clientAddress(req.socket.remoteAddress), user: who.user ?? null, group: who.group, trafficId }, snap.exclusions);
  } catch (err) {
    ctx.log.error({ err: String(err), group: who.group, user: who.user, address: req.socket.remoteAddress, categories: c.categories, trafficId }, 'SAFEGUARDING ALERT NOT STORED: check data/alerts.db');
    return null;
  }
}

const COUNTED = Symbol('schoolgate.counted');
/** A client socket with the byte counts at the end of its previous response. */
type CountedSocket = net.Socket & { [COUNTED]?: { read: number; written: number } };

/**
 * Records the request in the traffic log when the response closes, with its status, the bytes
 * on the client connection (headers included) and the time taken. The row's fixed part is
 * built only when there is a log to write it to.
 */
function trackResponse(ctx: ShellContext, req: IncomingMessage, res: ServerResponse, trafficId: number | null, row: (alert: number | null) => Decided, first: Outcome, alert: Promise<number | null> | null): OutcomeTracker {
  let outcome = first;
  const tracker = { set: (o: Outcome): void => { outcome = o; } };
  const sink = ctx.traffic;
  if (!sink) return tracker;
  const started = ctx.now();
  const socket = req.socket as CountedSocket;
  // Requests on a connection are answered in turn, so this request's bytes are those since the
  // previous one's response closed (its headers included).
  const read = socket[COUNTED]?.read ?? 0;
  const written = socket[COUNTED]?.written ?? 0;
  // Without an alert the row's fixed part is known now; with one, once the alert's id is.
  const fixed = alert === null ? row(null) : null;
  whenOver(res, socket, () => {
    const counted = { read: socket.bytesRead, written: socket.bytesWritten };
    socket[COUNTED] = counted;
    const o = outcome;
    const status = res.statusCode;
    const ms = ctx.now() - started;
    recordLinked(sink, alert, trafficId, (a) => completeRow(fixed ?? row(a), o, status, counted.read - read, counted.written - written, ms));
  });
  return tracker;
}

/** Bytes to (written) and from (read) the far side of a tunnel. */
export interface ByteCounts { readonly bytesWritten: number; readonly bytesRead: number }

/** What a tunnel's row will say, changed by its shell as the tunnel goes; read when it closes. */
export interface TunnelState {
  outcome: Outcome;
  status: number;
  /** Bytes through the joined upstream; null while (or if never) joined. */
  counts: ByteCounts | null;
}

/**
 * Records a tunnel or upgrade when the client's socket closes: refused ones at once (their
 * socket is ending), joined ones with the bytes each way through the upstream.
 */
export function trackTunnel(ctx: ShellContext, client: net.Socket, row: (alert: number | null) => Decided, raised: Raised, state: TunnelState): void {
  const sink = ctx.traffic;
  if (!sink) return;
  const started = ctx.now();
  client.once('close', () => {
    const o = state.outcome;
    const code = state.status;
    const up = state.counts?.bytesWritten ?? 0;
    const down = state.counts?.bytesRead ?? 0;
    const ms = ctx.now() - started;
    recordLinked(sink, raised.alert, raised.trafficId, (a) => completeRow(row(a), o, code, up, down, ms));
  });
}

/**
 * A row that names its alert is recorded once the alert is stored and its id known (within
 * milliseconds; later while data/alerts.db is locked): the traffic log batches rows anyway.
 */
function recordLinked(sink: TrafficSink, alert: Promise<number | null> | null, id: number | null, entry: (alert: number | null) => Omit<TrafficEntry, 'id'>): void {
  if (alert === null) sink.record(entry(null), id ?? undefined);
  else void alert.then((a) => sink.record(entry(a), id ?? undefined));
}

const OVER = Symbol('schoolgate.over');
/** A response with what waits for it to be over: null once it is. */
type Watched = ServerResponse & { [OVER]?: (() => void)[] | null };

/**
 * Runs `fn` once when the response is over: when it closes, or when its connection does first.
 * Node never closes a pipelined request's response that was still queued when the client left,
 * and what waits on it (a device's share of a site, the traffic-log row) must not wait forever.
 * Whatever waits on one response shares one pair of listeners, run in the order they came.
 */
export function whenOver(res: ServerResponse, socket: net.Socket, fn: () => void): void {
  const r = res as Watched;
  const waiting = r[OVER];
  // Over already (the client left while the request was being decided): at once.
  if (waiting === null || res.destroyed || socket.destroyed) return fn();
  if (waiting !== undefined) return void waiting.push(fn);
  const list = [fn];
  r[OVER] = list;
  const over = (): void => {
    if (r[OVER] !== list) return;
    r[OVER] = null;
    socket.off('close', over);
    for (const f of list) f();
  };
  res.once('close', over);
  socket.once('close', over);
}
