// The primary process's side of proxy.workers: it forks the proxy workers (node:cluster, which
// shares the listening port and hands each new connection to one worker in turn), gives each
// what the proxy remembers so far, passes each worker's changes to the others, writes their
// traffic rows with the one traffic writer, tells the one alert queue when a worker's alert is
// stored, fans reloads out (with the lists' table file it built, so the lists are built once for
// all: the file is removed once every worker told has read it), replaces a worker that dies (the others and their connections carry
// on), and stops them all first when stopping.
import cluster, { type Worker } from 'node:cluster';
import { rmSync } from 'node:fs';
import type { AlertService } from '../alerts/service.js';
import type { Authenticator } from '../identity/auth.js';
import type { Logger } from '../log.js';
import { byName, proxyMemories } from '../proxy/cluster/memories.js';
import { isToPrimary, WORKER_ENV, type ToPrimary, type ToWorker, type WorkerPlace } from '../proxy/cluster/messages.js';
import { stateOf, type SharedMemories } from '../proxy/cluster/shared-memory.js';
import type { TrafficLog } from '../store/traffic-log.js';
import type { PinningMemory } from '../tls/pinning.js';
import type { Part } from './stopping.js';

export interface ProxyWorkersOptions {
  readonly count: number;
  readonly addresses: readonly string[];
  /**
   * Every worker is given the port as configured, 0 included (tests): node:cluster shares one
   * listening socket among the workers that ask for the same address and port, and a port 0
   * socket already listening is the one a replacement gets.
   */
  readonly port: number;
  readonly log: Logger;
  /**
   * The one traffic writer and the alert service, as they open: the workers are forked before
   * (they start the while), and a worker is given its start state once the writer is open (its
   * traffic ids go on from the last one stored, spill files replayed).
   */
  readonly traffic: Promise<TrafficLog>;
  readonly alerts: Promise<AlertService>;
  /** The primary's copies, which a new worker starts from. */
  readonly memories: SharedMemories;
  /** The table file of the lists the primary started with (ListService.takeTables()): the workers' to read, then removed. */
  readonly tables?: string | null;
}

/** The primary's copies of the shared memories: its own sign-in (which SIGHUP also clears) and fresh others. */
export function primaryMemories(auth: Authenticator, pinning: ConstructorParameters<typeof PinningMemory>[0]): SharedMemories {
  return byName(proxyMemories(auth, pinning));
}

/** A worker that dies before it serves is forked again after this, so a broken start does not spin. */
const RETRY_MS = 1_000;
/** After the cut, a worker still running is given this long to write out, then killed. */
const AFTER_CUT_MS = 1_500;

interface Running {
  readonly slot: number;
  readonly worker: Worker;
  /** It has had the start state: changes are passed to it from then on. */
  started: boolean;
  serving: boolean;
  /** It said it has stopped (everything it recorded sent), or it exited. */
  readonly done: Promise<void>;
}

export class ProxyWorkers {
  private readonly running = new Map<number, Running>();
  /** The port the workers listen on (the configured one, or the one port 0 picked). */
  private port = 0;
  private stopping = false;
  private firstStart: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** Each table file handed out, with the slots of the workers yet to be done with it. */
  private readonly handouts = new Map<string, Set<number>>();

  constructor(private readonly opts: ProxyWorkersOptions) {}

  /** Forks every worker; resolves with the port once all serve, rejects if one stops first. */
  async start(): Promise<number> {
    const ready = new Promise<void>((resolve, reject) => (this.firstStart = { resolve, reject }));
    const tables = this.opts.tables ?? undefined;
    if (tables !== undefined) this.handOut(tables, Array.from({ length: this.opts.count }, (_, slot) => slot));
    for (let slot = 0; slot < this.opts.count; slot++) this.fork(slot, tables);
    await ready;
    return this.port;
  }

  /**
   * Tells every worker to reload (its configuration, lists and CA, as the primary just did),
   * reading the lists from `tables` (the primary's build, ListService.takeTables()), which is
   * removed once each has.
   */
  reload(tables: string | null = null): void {
    const told = [...this.running.values()].filter((r) => r.started);
    if (tables !== null) this.handOut(tables, told.map((r) => r.slot));
    for (const r of told) send(r.worker, { type: 'reload', reason: 'the primary process reloaded', ...(tables === null ? {} : { tables }) });
  }

  forgetSignIns(): void {
    this.broadcast({ type: 'forget-sign-ins' });
  }

  /** The part that stops the workers when stopping: before the traffic log and alerts they send to. */
  part(): Part {
    return {
      name: 'proxy workers',
      begin: () => {
        this.stopping = true;
        this.opts.log.info({ workers: this.running.size }, 'stopping the proxy workers');
        this.broadcast({ type: 'stop' }, true);
      },
      finish: async (cutAt) => {
        const all = Promise.all([...this.running.values()].map((r) => r.done));
        const late = setTimeout(() => {
          for (const r of this.running.values()) {
            this.opts.log.warn({ worker: r.slot, pid: r.worker.process.pid }, 'a proxy worker had not stopped after the cut; killed');
            r.worker.process.kill('SIGKILL');
          }
        }, Math.max(0, cutAt + AFTER_CUT_MS - Date.now()));
        await all;
        clearTimeout(late);
        for (const file of this.handouts.keys()) rmSync(file, { force: true });
        this.handouts.clear();
      },
    };
  }

  private fork(slot: number, tables?: string): void {
    const place: WorkerPlace = { slot, of: this.opts.count, port: this.opts.port, addresses: this.opts.addresses, ...(tables === undefined ? {} : { tables }) };
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(place) });
    let done = (): void => undefined;
    const r: Running = { slot, worker, started: false, serving: false, done: new Promise((resolve) => (done = resolve)) };
    worker.once('exit', (code: number | null, signal: string | null) => {
      this.onExit(r, code, signal);
      done();
    });
    this.running.set(slot, r);
    worker.on('message', (m: unknown) => {
      if (!isToPrimary(m)) return;
      this.onMessage(r, m);
      if (m.type === 'stopped') done();
    });
    // A worker killed while a message is on its way: the exit says what happened.
    worker.on('error', (err: Error) => this.opts.log.debug({ worker: slot, err: err.message }, 'a proxy worker\'s channel failed'));
  }

  private onMessage(r: Running, m: ToPrimary): void {
    switch (m.type) {
      case 'traffic':
        // Once open, then() runs in order: rows are recorded as they came (none come before 'start').
        whenOpen(this.opts.traffic, (traffic) => traffic.recordRows(m.rows));
        break;
      case 'memory':
        this.opts.memories[m.name]?.apply(m.change);
        for (const other of this.running.values()) if (other !== r && other.started) send(other.worker, m);
        break;
      case 'alerts-notify':
        whenOpen(this.opts.alerts, (alerts) => alerts.queue.kick());
        break;
      case 'hello':
        whenOpen(this.opts.traffic, (traffic) => {
          // From here on the worker is passed every change: none made after this state is missed.
          r.started = true;
          send(r.worker, { type: 'start', memories: stateOf(this.opts.memories), lastTrafficId: traffic.lastId });
        });
        break;
      case 'serving':
        r.serving = true;
        this.port = m.port;
        this.opts.log.info({ worker: r.slot, pid: r.worker.process.pid, port: m.port }, 'proxy worker serving');
        if (this.firstStart && [...this.running.values()].filter((x) => x.serving).length === this.opts.count) {
          this.firstStart.resolve();
          this.firstStart = null;
        }
        break;
      case 'tables-read':
        this.doneWith(m.file, r.slot);
        break;
      case 'stopped':
        break;
    }
  }

  private handOut(file: string, slots: readonly number[]): void {
    this.handouts.set(file, new Set(slots));
    if (slots.length === 0) this.doneWith(file, -1);
  }

  /** The worker in `slot` is done with `file` (or gone); the last one done has it removed. */
  private doneWith(file: string, slot: number): void {
    const waiting = this.handouts.get(file);
    if (!waiting) return;
    waiting.delete(slot);
    if (waiting.size > 0) return;
    this.handouts.delete(file);
    rmSync(file, { force: true });
  }

  private onExit(r: Running, code: number | null, signal: string | null): void {
    if (this.running.get(r.slot) === r) this.running.delete(r.slot);
    for (const file of [...this.handouts.keys()]) this.doneWith(file, r.slot);
    if (this.stopping) return;
    if (this.firstStart) {
      this.firstStart.reject(new Error(`proxy worker ${r.slot} stopped before it served (${signal ?? `exit code ${code}`}); its log lines say why`));
      this.firstStart = null;
      return;
    }
    // The others go on serving, their connections untouched; this one's connections are gone.
    this.opts.log.error({ worker: r.slot, pid: r.worker.process.pid, code, signal }, 'a proxy worker stopped unexpectedly; starting another in its place');
    if (r.serving) this.fork(r.slot);
    else setTimeout(() => {
      if (!this.stopping) this.fork(r.slot);
    }, RETRY_MS);
  }

  private broadcast(m: ToWorker, all = false): void {
    for (const r of this.running.values()) if (all || r.started) send(r.worker, m);
  }
}

/** Runs `f` once `opening` has opened; one that fails is the start's failure, which the primary reports and stops on. */
function whenOpen<T>(opening: Promise<T>, f: (opened: T) => void): void {
  opening.then(f, () => undefined);
}

function send(worker: Worker, m: ToWorker | ToPrimary): void {
  // A worker that has just died: its exit is handled on its own.
  if (worker.isConnected()) worker.send(m, undefined, () => undefined);
}
