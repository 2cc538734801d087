// Moving outbox rows to delivery. With `alerts.redis` set, a relay puts each row on a BullMQ
// queue, in order, with the row's id as the job id (a relay retried after a crash or an outage
// adds the same job, which BullMQ ignores), and BullMQ workers deliver with retries and backoff.
// Without Redis (the embedded default), the same delivery code runs in this process from the
// outbox. Either way the outbox is the truth: while Redis is away, alerts wait in it.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { deliverOutbox, type DeliveryDeps } from './deliver.js';

export interface AlertQueue {
  readonly mode: 'in-process' | 'bullmq';
  start(): Promise<void>;
  /** Something was written to the outbox: look now rather than at the next poll. */
  kick(): void;
  close(): Promise<void>;
}

export interface RetryOptions {
  /** Attempts before a notification is marked failed (shown to the DSL, resent by the digest). */
  readonly attempts?: number;
  /** The first retry's delay; each next one doubles it. */
  readonly backoffMs?: number;
  /** How often the outbox is read when nothing kicks. */
  readonly pollMs?: number;
}

/** Longer than BullMQ's retries with backoff take: a row still pending after this lost its job. */
const RELAY_AGAIN_MS = 15 * 60_000;

const DEFAULTS = { attempts: 8, backoffMs: 2_000, pollMs: 1_000 };
/** Outbox rows read at a time. */
const BATCH = 100;

/**
 * A loop that runs `tick` every pollMs and at once when kicked, never two at a time. A tick that
 * returns true (it handled a full batch: there may be more) runs again at once, so a backlog
 * drains as fast as it can be delivered, not a batch a poll.
 */
function loop(pollMs: number, tick: () => Promise<boolean>) {
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const run = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        if (await tick()) again = true;
      } while (again && !stopped);
    } finally {
      running = false;
    }
  };
  return {
    start(): void {
      timer = setInterval(() => void run(), pollMs);
      timer.unref();
      void run();
    },
    kick(): void {
      void run();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      while (running) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

/** Delivery in this process, straight from the outbox. */
export class InProcessQueue implements AlertQueue {
  readonly mode = 'in-process' as const;
  private readonly notBefore = new Map<number, number>();
  private readonly opts: Required<RetryOptions>;
  private readonly runner;

  constructor(private readonly deps: DeliveryDeps, private readonly log: Logger, opts: RetryOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.runner = loop(this.opts.pollMs, () => this.tick());
  }

  async start(): Promise<void> {
    this.runner.start();
  }

  kick(): void {
    this.runner.kick();
  }

  async close(): Promise<void> {
    await this.runner.stop();
  }

  private async tick(): Promise<boolean> {
    const now = (this.deps.now ?? Date.now)();
    const rows = this.deps.store.pending(BATCH);
    let tried = 0;
    for (const row of rows) {
      if ((this.notBefore.get(row.id) ?? 0) > now) continue;
      tried++;
      try {
        await deliverOutbox(this.deps, row.id);
        this.notBefore.delete(row.id);
      } catch (err) {
        const attempt = row.attempts + 1;
        const final = attempt >= this.opts.attempts;
        this.deps.store.failedAttempt(row.id, (err as Error).message, Date.now(), final);
        this.notBefore.set(row.id, Date.now() + this.opts.backoffMs * 2 ** (attempt - 1));
        this.log[final ? 'error' : 'warn']({ outbox: row.id, attempt, err: (err as Error).message }, final ? 'alert notification failed for good: shown to the DSL and resent with the next digest' : 'alert notification failed; will retry');
      }
    }
    // Rows all waiting out their backoff are not a reason to read them again at once.
    return rows.length === BATCH && tried > 0;
  }
}

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
}

interface DeliverJob {
  readonly outboxId: number;
}

export class BullMqQueue implements AlertQueue {
  readonly mode = 'bullmq' as const;
  private readonly opts: Required<Omit<BullMqOptions, 'url'>> & { url: string };
  private readonly producer: Redis;
  private readonly queue: Queue<DeliverJob>;
  private worker: Worker<DeliverJob> | null = null;
  private readonly runner;
  private outage = false;

  constructor(private readonly deps: DeliveryDeps, private readonly log: Logger, opts: BullMqOptions) {
    this.opts = { ...DEFAULTS, prefix: 'schoolgate', queueName: 'alerts', addTimeoutMs: 2_000, lockMs: 30_000, work: true, ...opts };
    // The relay's connection fails fast while Redis is away (no offline queue): rows stay in
    // the outbox and the next tick tries again, rather than piling up in memory here. BullMQ
    // connects it (and waits for it, however long Redis takes to come: a lazy client that
    // failed its first connect would leave the queue failing for good).
    this.producer = new Redis(this.opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    this.producer.on('error', () => {});
    this.queue = new Queue<DeliverJob>(this.opts.queueName, { connection: this.producer, prefix: this.opts.prefix });
    this.queue.on('error', () => {});
    this.runner = loop(this.opts.pollMs, () => this.relay());
  }

  async start(): Promise<void> {
    await withTimeout(this.queue.waitUntilReady(), this.opts.addTimeoutMs).catch((err: Error) => this.log.warn({ err: err.message }, 'alerts: Redis is not reachable; alerts wait in the outbox until it is'));
    if (this.opts.work) this.startWorker();
    this.runner.start();
  }

  kick(): void {
    this.runner.kick();
  }

  async close(): Promise<void> {
    await this.runner.stop();
    await this.worker?.close();
    await this.queue.close().catch(() => {});
    this.producer.disconnect();
  }

  /**
   * Outbox rows not yet on the queue, in order, and rows relayed long ago and still pending (a
   * Redis that restarted without saving lost their jobs); stops at the first that cannot be added.
   */
  private async relay(): Promise<boolean> {
    const rows = this.deps.store.pending(BATCH, Date.now() - RELAY_AGAIN_MS);
    for (const row of rows) {
      try {
        // While Redis is away nothing is handed to BullMQ, whose calls would wait for it in memory.
        if (this.producer.status !== 'ready') throw new Error(`the connection to Redis is ${this.producer.status}`);
        await withTimeout(this.queue.add('deliver', { outboxId: row.id }, {
          jobId: `outbox-${row.id}`, attempts: this.opts.attempts, backoff: { type: 'exponential', delay: this.opts.backoffMs },
          removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 },
        }), this.opts.addTimeoutMs);
      } catch (err) {
        if (!this.outage) this.log.warn({ err: (err as Error).message }, 'alerts: cannot reach Redis; alerts wait in the outbox and are relayed when it returns');
        this.outage = true;
        return false;
      }
      if (this.outage) this.log.info('alerts: Redis is back; relaying the outbox');
      this.outage = false;
      this.deps.store.markRelayed(row.id, Date.now());
    }
    return rows.length === BATCH;
  }

  private startWorker(): void {
    const connection = new Redis(this.opts.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    connection.on('error', () => {});
    const worker = new Worker<DeliverJob>(this.opts.queueName, async (job: Job<DeliverJob>) => {
      await deliverOutbox(this.deps, job.data.outboxId);
    }, { connection, prefix: this.opts.prefix, concurrency: 4, lockDuration: this.opts.lockMs, stalledInterval: Math.max(1_000, this.opts.lockMs / 2) });
    worker.on('error', () => {});
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      this.deps.store.failedAttempt(job.data.outboxId, err.message, Date.now(), final);
      this.log[final ? 'error' : 'warn']({ outbox: job.data.outboxId, attempt: job.attemptsMade, err: err.message }, final ? 'alert notification failed for good: shown to the DSL and resent with the next digest' : 'alert notification failed; BullMQ will retry');
    });
    this.worker = worker;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from Redis in ${ms} ms`)), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, (e: unknown) => {
      clearTimeout(t);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}
