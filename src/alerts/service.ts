// The alert pipeline as the proxy and the CLI see it: detection on every request, the alert
// written to the journal before the response goes back (safe from a crash of the process) and
// stored (folded) in data/alerts.db by the writer thread moments later, and the queue told when
// there is something to deliver. Reads the current configuration snapshot on every call, so a
// reload changes the taxonomy, exclusions and recipients at once.
import type { Classification } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Decision } from '../policy/types.js';
import type { Database } from '../store/db.js';
import { openAlertsDatabase } from './db.js';
import type { DeliveryDeps } from './deliver.js';
import { compileExclusions, readStoredExclusions, type ExclusionSet } from './exclusions.js';
import { EmailNotifier } from './notify-email.js';
import { InProcessQueue, type AlertQueue, type RetryOptions } from './queue.js';
import type { BullMqQueue } from './queue-bullmq.js';
import { renderContext, type RenderContext } from './render.js';
import { AlertJournal } from './journal.js';
import { AlertRaiser } from './raiser.js';
import { AlertStore } from './store.js';

export interface RaiseInput {
  readonly client: string;
  readonly user: string | null;
  readonly group: string;
  readonly trafficId: number | null;
}

/**
 * What the proxy needs: raise() returns null when the request raises nothing; otherwise the alert
 * is journalled when it returns, and the promise gives the first alert's id once it is stored (a
 * fold gives the open alert's; null if the service closed first). The proxy passes the exclusions
 * of the request's snapshot, so a request never reads alerts.db for them.
 */
export interface AlertSink {
  raise(c: Classification, d: Decision, who: RaiseInput, exclusions: ExclusionSet): Promise<number | null> | null;
}

export interface AlertServiceOptions {
  readonly dataDir: string;
  readonly config: () => SchoolgateConfig;
  readonly log: Logger;
  readonly now?: () => number;
  readonly retry?: RetryOptions;
  /** BullMQ's job lock (tests shorten it to see a dead worker's job redelivered quickly). */
  readonly lockMs?: number;
  /** With Redis: false relays the outbox to BullMQ without delivering here (workers run elsewhere). */
  readonly work?: boolean;
  /** Each alert stored: milliseconds from raise() until the writer's commit was heard (the benchmark). */
  readonly onStored?: (ms: number) => void;
}

export class AlertService implements AlertSink {
  readonly store: AlertStore;
  readonly queue: AlertQueue;
  private readonly journal: AlertJournal;
  private readonly raiser: AlertRaiser;
  private readonly now: () => number;
  private exclusions: { config: SchoolgateConfig; version: number; set: ExclusionSet } | null = null;
  private exclusionVersion = 0;
  /** alerts.db's data_version when last read: it changes when another connection (the CLI) commits. */
  private dataVersion = { value: -1, checkedAt: 0 };
  private email: { config: SchoolgateConfig; notifier: EmailNotifier | null } | null = null;

  /** `bullMq`: BullMQ's queue, which start() loads only when Redis is configured (the package takes a tenth of a second to load). */
  constructor(readonly db: Database, private readonly opts: AlertServiceOptions, bullMq?: typeof BullMqQueue) {
    this.store = new AlertStore(db);
    this.now = opts.now ?? Date.now;
    const deps: DeliveryDeps = {
      store: this.store, config: () => opts.config().safeguarding, context: () => this.context(), email: () => this.emailNotifier(), now: this.now, log: opts.log,
    };
    const redis = opts.config().redis;
    if (redis && bullMq === undefined) throw new Error('alerts through Redis: the service is made by AlertService.start(), which loads BullMQ');
    this.queue = redis && bullMq
      ? new bullMq(deps, opts.log, { url: redis.url, prefix: redis.prefix, ...opts.retry, ...(opts.lockMs ? { lockMs: opts.lockMs } : {}), ...(opts.work === false ? { work: false } : {}) })
      : new InProcessQueue(deps, opts.log, opts.retry);
    this.journal = new AlertJournal({ dataDir: opts.dataDir, log: opts.log, onNotify: () => this.queue.kick(), ...(opts.onStored ? { onStored: opts.onStored } : {}) });
    this.raiser = new AlertRaiser(this.journal, opts.config, this.now);
  }

  /** `db`: data/alerts.db opened already (the primary opens it before it forks proxy workers, so that it is migrated once). */
  static async start(opts: AlertServiceOptions, db?: Database): Promise<AlertService> {
    const bullMq = opts.config().redis ? (await import('./queue-bullmq.js')).BullMqQueue : undefined;
    const service = new AlertService(db ?? openAlertsDatabase(opts.dataDir), opts, bullMq);
    // Alerts a killed process left in the journal are stored first.
    await service.journal.ready;
    await service.queue.start();
    opts.log.info({ queue: service.queue.mode }, 'alerts: delivery started');
    return service;
  }

  /** Without `exclusions` (the CLI, tests), the file's and alerts.db's, read here. */
  raise(c: Classification, d: Decision, who: RaiseInput, exclusions?: ExclusionSet): Promise<number | null> | null {
    return this.raiser.raise(c, d, who, exclusions ?? this.exclusionsFor(this.opts.config()));
  }

  /** Resolves true once every alert raised so far is stored in data/alerts.db (tests, benchmarks); false after `timeoutMs`. */
  settle(timeoutMs?: number): Promise<boolean> {
    return this.journal.settle(timeoutMs);
  }

  /**
   * Everything that reached nobody (notifications marked untold) in one catch-up digest, now that
   * someone can be told; the caller checks that first. The digest's outbox row, or null.
   */
  tellUntold(): number | null {
    const now = this.now();
    const id = this.store.addCatchUp(now, now);
    if (id !== null) this.queue.kick();
    return id;
  }

  /** The DSL's exclusions (data/alerts.db) and the safeguarding file's, compiled once per change. */
  private exclusionsFor(config: SchoolgateConfig): ExclusionSet {
    this.noticeOtherWriters();
    const e = this.exclusions;
    if (e && e.config === config && e.version === this.exclusionVersion) return e.set;
    const set = compileExclusions(config.safeguarding.exclusions, readStoredExclusions(this.db));
    this.exclusions = { config, version: this.exclusionVersion, set };
    return set;
  }

  /** After the exclusions table changes (the DSL marked a false positive). */
  exclusionsChanged(): void {
    this.exclusionVersion++;
  }

  /** At most once a second: another process (`schoolgate alerts false-positive`) committed, so the exclusions are read again. */
  private noticeOtherWriters(): void {
    const now = this.now();
    if (now - this.dataVersion.checkedAt < 1_000) return;
    this.dataVersion.checkedAt = now;
    const value = this.db.pragma('data_version', { simple: true }) as number;
    if (this.dataVersion.value !== -1 && value !== this.dataVersion.value) this.exclusionsChanged();
    this.dataVersion.value = value;
  }

  private context(): RenderContext {
    return renderContext(this.opts.config());
  }

  private emailNotifier(): EmailNotifier | null {
    const c = this.opts.config();
    if (this.email?.config === c) return this.email.notifier;
    this.email?.notifier?.close();
    const smtp = c.safeguarding.email;
    this.email = { config: c, notifier: smtp ? new EmailNotifier(smtp) : null };
    return this.email.notifier;
  }

  /** Deliveries under way may finish for `graceMs` (see AlertQueue.close); then everything is closed. */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    // Alerts first: stored (their notifications in the outbox), or left in the journal for the next start.
    await this.journal.close();
    await this.queue.close(opts.graceMs);
    this.email?.notifier?.close();
    this.db.close();
  }
}

