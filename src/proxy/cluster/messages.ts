// What the primary process and its proxy workers (proxy.workers) tell each other over the
// cluster's IPC channel. The primary keeps what must be one per machine; a worker serves the
// proxy port and sends back what only the primary may write or pass on.
import type { TrafficTuple } from '../../store/traffic-entry.js';
import type { MemoryState } from './shared-memory.js';

/** Given to a worker in its environment (SCHOOLGATE_WORKER) when it is forked. */
export interface WorkerPlace {
  /** 0 … of-1: the worker's traffic ids are those with id % of === slot. */
  readonly slot: number;
  readonly of: number;
  readonly port: number;
  readonly addresses: readonly string[];
  /** The primary's table file of the lists it started with (ListService tablesFrom); told 'tables-read' once used. */
  readonly tables?: string;
}

export const WORKER_ENV = 'SCHOOLGATE_WORKER';

export type ToPrimary =
  /** Listening to messages: send the start state. */
  | { readonly type: 'hello' }
  /** Listening on the proxy port. */
  | { readonly type: 'serving'; readonly port: number }
  | { readonly type: 'memory'; readonly name: string; readonly change: unknown }
  /** Rows for the one traffic writer, with their ids. */
  | { readonly type: 'traffic'; readonly rows: TrafficTuple[] }
  /** The worker's alert writer put something in the outbox: deliver it. */
  | { readonly type: 'alerts-notify' }
  /** Done with the primary's table file (read, or found not to fit): the primary may remove it. */
  | { readonly type: 'tables-read'; readonly file: string }
  /** Stopped: everything it recorded has been sent before this. */
  | { readonly type: 'stopped' };

export type ToWorker =
  | { readonly type: 'start'; readonly memories: MemoryState; readonly lastTrafficId: number }
  | { readonly type: 'memory'; readonly name: string; readonly change: unknown }
  /**
   * The primary reloaded (SIGHUP, a list update, the staff app): reload too, reading the lists
   * from the primary's table file if there is one (the worker says 'tables-read' after).
   */
  | { readonly type: 'reload'; readonly reason: string; readonly tables?: string }
  /** Forget remembered sign-ins (SIGHUP: a disabled user or changed password counts at once). */
  | { readonly type: 'forget-sign-ins' }
  | { readonly type: 'stop' };

export function isToPrimary(m: unknown): m is ToPrimary {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

export const isToWorker = isToPrimary as (m: unknown) => m is ToWorker;
