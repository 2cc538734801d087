// Delivery through BullMQ on Redis (`redis:` configured). A relay puts each outbox row on the
// queue, in order, with the row's id as the job id (a relay retried after a crash or an outage adds
// the same job, which BullMQ ignores), and BullMQ workers deliver with retries and backoff.
//
// Redis may lose jobs: a restart without saving, a FLUSHALL, a failover to a replica that was
// behind. The outbox row of a lost job stays pending with no job to deliver it, so the relay looks
// for the jobs of every row it handed over and still undelivered, and adds back the missing ones
// at once: whenever its connection comes (back), whenever Redis's run id changes (a restart) or a
// mark the relay keeps in Redis is gone (a flush), and every `verifyMs` in any case.
import { DelayedError, Queue, RedisConnection, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';
import { deliverOutbox, type DeliveryDeps } from './deliver.js';
import { BATCH, DEFAULT_CLOSE_GRACE_MS, DEFAULTS, loop, settlesWithin, withTimeout, type AlertQueue, type RetryOptions } from './queue.js';
import type { OutboxRow } from './store.js';

export interface BullMqOptions extends RetryOptions {
  readonly url: string;
  /** Key prefix in Redis (tests use their own). */
  readonly prefix?: string;
  readonly queueName?: string;
  /** How long the relay waits for Redis before leaving a row for the next try. */
  readonly addTimeoutMs?: number;
  /** BullMQ's lock on a job being delivered; a worker that dies loses it after this and the job is delivered again. */
  readonly lockMs?: number;
  /** Run workers in this process (the default); false for a process that only relays. */
  readonly work?: boolean;
  /** How often the jobs of relayed rows are looked for even when nothing suggests Redis lost any (keys evicted or deleted). */
  readonly verifyMs?: number;
}

interface DeliverJob {
  readonly outboxId: number;
}

/** The longest between BullMQ's checks for jobs whose worker died (see startWorker). */
const STALLED_CHECK_MS = 5_000;
/** Relayed rows whose jobs are looked for in one round trip. */
const CHECK_BATCH = 500;
/** After deliveries under way were cut short, how long BullMQ may take to record that in Redis. */
const CUT_WAIT_MS = 1_000;
/** A key of the relay's beside the queue's: a Redis without it lost everything since it was set. */
const MARK = 'schoolgate-relay-mark';

const jobIdOf = (outboxId: number): string => `outbox-${outboxId}`;

/**
 * BullMQ 5 (seen with 5.81) closes a RedisConnection by removing all its listeners, yet a
 * connection still being set up when Redis is away later reports its failed set-up as an 'error'
 * event. With no listener left, Node throws it and the process dies with exit code 1 instead of
 * stopping cleanly (test/cli/stop.test.ts, "Redis stopped before the signal"). An error from a
 * connection already closed has nobody to tell and nothing to change, so it is dropped.
 */
const emitConnectionEvent = RedisConnection.prototype.emit;
RedisConnection.prototype.emit = function emit(this: RedisConnection, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'error' && this.listenerCount('error') === 0 && (this as unknown as { status?: string }).status === 'closed') return false;
  return emitConnectionEvent.call(this, event, ...args);
};

/** A delivery cut short at shutdown while Redis was away: not the channel's fault, so not counted. */
class CutShort extends Error {
  override readonly name = 'CutShort';
}

/**
 * An ioredis connection that keeps the copies made of it (BullMQ's worker makes one for its
 * blocking reads and closes it only when it can reach Redis), so that closing ends them all.
 */
class OwnedRedis extends Redis {
  private readonly copies: Redis[] = [];

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    copy.on('error', () => {});
    this.copies.push(copy);
    return copy;
  }

  disconnectAll(): void {
    // Not twice: ioredis would wait 2 s for a socket that has already closed.
    for (const c of [this, ...this.copies]) if (c.status !== 'end') c.disconnect();
  }
}

export class BullMqQueue implements AlertQueue {
  readonly mode = 'bullmq' as const;
  private readonly opts: Required<Omit<BullMqOptions, 'url'>> & { url: string };
  private readonly producer: Redis;
  private readonly queue: Queue<DeliverJob>;
  private worker: { readonly worker: Worker<DeliverJob>; readonly connection: OwnedRedis } | null = null;
  private readonly runner;
  private outage = false;
  private closing = false;
  /** Resolves when close() stops waiting for deliveries under way. */
  private readonly cut: { readonly promise: Promise<'cut'>; now(): void };
  /** Counts the connection's arrivals; the lost-job check records the one it ran after. */
  private arrivals = 0;
  private checked = { arrival: -1, at: 0, runId: null as string | null };

  constructor(private readonly deps: DeliveryDeps, private readonly log: Logger, opts: BullMqOptions) {
    this.opts = { ...DEFAULTS, prefix: 'schoolgate', queueName: 'alerts', addTimeoutMs: 2_000, lockMs: 30_000, work: true, verifyMs: 30_000, ...opts };
    // The relay's connection fails fast while Redis is away (no offline queue): rows stay in
    // the outbox and the next tick tries again, rather than piling up in memory here. BullMQ
    // connects it (and waits for it, however long Redis takes to come: a lazy client that
    // failed its first connect would leave the queue failing for good).
    this.producer = new Redis(this.opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    this.producer.on('error', () => {});
    // A Redis that comes back may have come back empty: look for the relayed rows' jobs now.
    this.producer.on('ready', () => {
      this.arrivals++;
      this.runner.kick();
    });
    this.queue = new Queue<DeliverJob>(this.opts.queueName, { connection: this.producer, prefix: this.opts.prefix });
    this.queue.on('error', () => {});
    this.runner = loop(this.opts.pollMs, () => this.relay(), (err) => this.log.error({ err: err.message }, 'alerts: relaying the outbox failed; trying again at the next poll'));
    let now = (): void => {};
    const promise = new Promise<'cut'>((resolve) => {
      now = () => resolve('cut');
    });
    this.cut = { promise, now };
  }

  async start(): Promise<void> {
    await withTimeout(this.queue.waitUntilReady(), this.opts.addTimeoutMs).catch((err: Error) => this.log.warn({ err: err.message }, 'alerts: Redis is not reachable; alerts wait in the outbox until it is'));
    if (this.opts.work) this.startWorker();
    this.runner.start();
  }

  kick(): void {
    this.runner.kick();
  }

  /**
   * With Redis there, BullMQ finishes the deliveries under way (for up to `graceMs`), then those
   * still running are cut short and put back on the queue, without counting as an attempt. With
   * Redis away nothing more can be recorded there: their jobs stay as they are, and BullMQ gives
   * a job whose worker went away to another once its lock expires. Either way every connection
   * is closed, so the process can exit.
   */
  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    this.closing = true;
    const until = Date.now() + graceMs;
    await this.runner.stop(graceMs);
    if (this.worker) await this.closeWorker(this.worker, Math.max(0, until - Date.now()));
    await settlesWithin(this.queue.close(), CUT_WAIT_MS);
    if (this.producer.status !== 'end') this.producer.disconnect();
  }

  private async closeWorker({ worker, connection }: { worker: Worker<DeliverJob>; connection: OwnedRedis }, graceMs: number): Promise<void> {
    // Just started, still connecting: a worker closed half-connected leaves BullMQ's timers running.
    if (['wait', 'connecting', 'connect'].includes(connection.status)) await settlesWithin(worker.waitUntilReady(), Math.min(graceMs, CUT_WAIT_MS));
    const closed = connection.status === 'ready' ? worker.close() : null;
    closed?.catch(() => {});
    if (!closed || !await settlesWithin(closed, graceMs)) {
      this.cut.now();
      if (!closed || !await settlesWithin(closed, CUT_WAIT_MS)) {
        this.log.warn('alerts: Redis was not reachable while stopping; any delivery under way is retried once its lock expires');
        void worker.close(true).catch(() => {});
      }
    }
    connection.disconnectAll();
  }

  /** Adds back lost jobs, then puts rows never relayed on the queue, in order; stops at the first that cannot be added. */
  private async relay(): Promise<boolean> {
    try {
      if (await this.lostJobsSuspected()) await this.requeueLost();
    } catch (err) {
      return this.unreachable(err as Error);
    }
    const rows = this.deps.store.pending(BATCH, 0);
    for (const row of rows) {
      if (this.runner.stopping) return false;
      try {
        await this.add(row);
      } catch (err) {
        return this.unreachable(err as Error);
      }
      this.reached();
      this.deps.store.markRelayed(row.id, Date.now());
    }
    return rows.length === BATCH;
  }

  /** Whether relayed rows still to deliver may have lost their jobs; asks Redis only when there are some. */
  private async lostJobsSuspected(): Promise<boolean> {
    if (!this.deps.store.hasRelayedPending()) return false;
    this.ready();
    if (this.checked.arrival !== this.arrivals || Date.now() - this.checked.at >= this.opts.verifyMs) return true;
    const answers = await withTimeout(this.producer.pipeline().info('server').exists(this.queue.toKey(MARK)).exec(), this.opts.addTimeoutMs);
    const [info, mark] = (answers ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    return runIdOf(info) !== this.checked.runId || mark !== 1;
  }

  /** Adds back the job of every relayed row still to deliver that Redis no longer has. */
  private async requeueLost(): Promise<void> {
    const arrival = this.arrivals;
    const runId = runIdOf(await withTimeout(this.producer.info('server'), this.opts.addTimeoutMs));
    // The mark goes first: should Redis lose it while the rows are looked at, the next tick sees that.
    await withTimeout(this.producer.set(this.queue.toKey(MARK), runId ?? 'unknown'), this.opts.addTimeoutMs);
    const restarted = this.checked.runId !== null && runId !== this.checked.runId;
    let requeued = 0;
    for (let after = 0; !this.runner.stopping;) {
      const rows = this.deps.store.relayedPending(after, CHECK_BATCH);
      if (rows.length === 0) break;
      const pipeline = this.producer.pipeline();
      for (const row of rows) pipeline.exists(this.queue.toKey(jobIdOf(row.id)));
      const found = (await withTimeout(pipeline.exec(), this.opts.addTimeoutMs)) ?? [];
      for (const [i, row] of rows.entries()) {
        const [err, exists] = found[i] ?? [new Error('Redis did not answer for every job'), 0];
        if (err) throw err;
        if (exists === 1) continue;
        this.ready();
        await this.add(row);
        this.deps.store.markRelayed(row.id, Date.now());
        requeued++;
      }
      after = rows.at(-1)!.id;
    }
    this.reached();
    this.checked = { arrival, at: Date.now(), runId };
    if (requeued > 0) this.log.warn({ requeued, restarted, runId }, `alerts: Redis had lost ${requeued} alert notification${requeued === 1 ? '' : 's'} waiting for delivery (restarted or emptied); queued again`);
  }

  /** BullMQ's calls would wait for a Redis that is away, in memory: while it is, nothing is handed to it. */
  private ready(): void {
    if (this.producer.status !== 'ready') throw new Error(`the connection to Redis is ${this.producer.status}`);
  }

  /** Puts the row's job on the queue with the attempts it has left (a job added back after a loss starts over from BullMQ's view). */
  private async add(row: OutboxRow): Promise<void> {
    this.ready();
    await withTimeout(this.queue.add('deliver', { outboxId: row.id }, {
      jobId: jobIdOf(row.id), attempts: Math.max(1, this.opts.attempts - row.attempts), backoff: { type: 'exponential', delay: this.opts.backoffMs },
      removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 },
    }), this.opts.addTimeoutMs);
  }

  private unreachable(err: Error): false {
    // A relay left to finish while closing finds its connection gone: that is no outage.
    if (this.closing) return false;
    if (!this.outage) this.log.warn({ err: err.message }, 'alerts: cannot reach Redis; alerts wait in the outbox and are relayed when it returns');
    this.outage = true;
    return false;
  }

  private reached(): void {
    if (this.outage) this.log.info('alerts: Redis is back; relaying the outbox');
    this.outage = false;
  }

  private startWorker(): void {
    const connection = new OwnedRedis(this.opts.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    connection.on('error', () => {});
    // The stalled-job check runs at least every 5 s: BullMQ arms its next check without looking
    // whether the worker closed meanwhile, and that timer keeps the process alive until it fires.
    // Five seconds keeps a stop inside its 10 s.
    const worker = new Worker<DeliverJob>(this.opts.queueName, (job: Job<DeliverJob>, token?: string) => this.deliver(job, connection, token), {
      connection, prefix: this.opts.prefix, concurrency: 4, lockDuration: this.opts.lockMs, stalledInterval: Math.min(STALLED_CHECK_MS, Math.max(1_000, this.opts.lockMs / 2)),
    });
    worker.on('error', () => {});
    worker.on('failed', (job, err) => {
      if (!job || err instanceof CutShort) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      try {
        this.deps.store.failedAttempt(job.data.outboxId, err.message, Date.now(), final);
      } catch (e) {
        // Only after shutdown closed the database; the row stays pending and is delivered after the next start.
        if (!this.closing) throw e;
      }
      this.log[final ? 'error' : 'warn']({ outbox: job.data.outboxId, attempt: job.attemptsMade, err: err.message }, final ? 'alert notification failed for good: shown to the DSL and resent with the next digest' : 'alert notification failed; BullMQ will retry');
    });
    this.worker = { worker, connection };
  }

  /** One job: the delivery, or its cutting short when closing stops waiting for it. */
  private async deliver(job: Job<DeliverJob>, connection: Redis, token: string | undefined): Promise<void> {
    const delivery = deliverOutbox(this.deps, job.data.outboxId);
    // Once cut short, what the delivery does after (or the error it ends with) is not waited for.
    delivery.catch(() => {});
    if (await Promise.race([delivery, this.cut.promise]) !== 'cut') return;
    if (connection.status !== 'ready') throw new CutShort('Schoolgate stopped before every channel answered');
    // Back on the queue, as due now, for another worker or the next start; DelayedError tells BullMQ it was not a failure.
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }
}

function runIdOf(info: unknown): string | null {
  return typeof info === 'string' ? /^run_id:(\S+)/m.exec(info)?.[1] ?? null : null;
}
