// The alert pipeline end to end with BullMQ (redis: configured), against a redis-server of the
// test's own so that it can be stopped and started again: a request through the proxy, the
// alert stored, the outbox row relayed to the queue and delivered by a worker to a real SMTP
// server and a signed webhook. Then an outage (Redis stopped while 100 pupils raise alerts:
// every request answered, every alert stored, nothing lost or sent twice when Redis returns),
// the same when Schoolgate starts while Redis is down, and a worker killed with -9 in the middle
// of a delivery.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerts/service.js';
import type { SchoolgateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { closeAll, startOrigin, startProxy, viaProxy, type ProxiedAnswer } from '../helpers/proxy.js';
import { eventually as until } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SECRET = 'test-webhook-secret';
const DANGER = 'i want to kill myself';
/** The worker processes' BullMQ job lock: a killed worker's job is taken again this long after its last renewal. */
const LOCK_MS = 2_000;

let redis: RedisServer;
let origin: http.Server;
let originPort = 0;

beforeAll(async () => {
  redis = await redisServer();
  ({ server: origin, port: originPort } = await startOrigin());
});

afterAll(async () => {
  await closeAll(origin);
  await redis.stop();
});

/** A proxy with alerts on and redis: configured (its own key prefix), and its own mail and webhook receivers. */
interface Gate {
  readonly port: number;
  readonly alerts: AlertService;
  readonly config: SchoolgateConfig;
  readonly data: string;
  readonly prefix: string;
  readonly smtp: SmtpReceiver;
  readonly hook: WebhookReceiver;
  search(q: string, from: string): Promise<ProxiedAnswer>;
  /** The outbox row of an alert. */
  outboxOf(alertId: number): number;
  close(): Promise<void>;
}

async function startGate(opts: { work: boolean; redis: RedisServer | null; pollMs?: number }): Promise<Gate> {
  const tmp = tempDir();
  const smtp = await smtpReceiver();
  const hook = await webhookReceiver(SECRET);
  const file = join(tmp.dir, 'safeguarding.yaml');
  writeFileSync(file, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  const prefix = `sgtest-${randomBytes(6).toString('hex')}`;
  const queue = opts.redis ? `redis:\n  url: ${opts.redis.url}\n  prefix: ${prefix}\n` : '';
  const yaml = `safeguarding: ${file}\n${queue}proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    www.google.com: 127.0.0.1\n`;
  const started = await startProxy(tmp.dir, yaml);
  const config = started.config;
  await closeAll(started.proxy);
  const data = join(tmp.dir, 'data');
  const alerts = await AlertService.start({ dataDir: data, config: () => config, log: createLogger({ level: 'silent' }), retry: { backoffMs: 50, pollMs: opts.pollMs ?? 100, attempts: 4 }, work: opts.work });
  const { proxy, port }: { proxy: Proxy; port: number } = await startProxy(tmp.dir, yaml, undefined, { alerts });
  return {
    port, alerts, config, data, prefix, smtp, hook,
    // Answered, and whatever it raised stored (the writer thread stores it moments after).
    search: async (q, from) => {
      const answer = await viaProxy(port, `http://www.google.com:${originPort}/search?q=${encodeURIComponent(q).replace(/%20/g, '+')}`, { localAddress: from });
      await alerts.settle();
      return answer;
    },
    outboxOf: (alertId) => alerts.db.prepare('SELECT id FROM outbox WHERE alert_id = ?').pluck().get(alertId) as number,
    close: async () => {
      await closeAll(proxy);
      await alerts.close();
      await smtp.close();
      await hook.close();
      tmp.cleanup();
    },
  };
}

const deliveryOf = (outboxId: number): string => `schoolgate-immediate-${outboxId}`;

/**
 * Waits until nothing is left that could send a notification again: every outbox row delivered
 * and, with Redis, no job of the gate's queue waiting, running, delayed or paused. A repeat can
 * only come from one of those, so the counts the test then reads are final: no "wait a little
 * to see a repeat". Neither the outbox nor Redis announces this, so both are read until true.
 */
async function settled(g: Gate, server: RedisServer | null): Promise<void> {
  expect(await until(() => g.alerts.store.pending(1000).length === 0)).toBe(true);
  if (!server) return;
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  const queue = new Queue('alerts', { connection, prefix: g.prefix });
  try {
    const live = async (): Promise<number> => Object.values(await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children')).reduce((a, b) => a + b, 0);
    expect(await until(async () => (await live()) === 0)).toBe(true);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
const mailDelivery = (m: SmtpReceiver['received'][number]): string => String(m.headers.get('x-schoolgate-delivery'));

/**
 * With `server` stopped: one danger search from each of `clients` (devices, no one signed in, so
 * no alert folds into another). Every request is answered, every alert stored with its outbox
 * row, and nothing delivered. Then `server` is started again (on the same port, empty), and each
 * alert must reach the webhook and the mailbox exactly once.
 */
async function outage(g: Gate, server: RedisServer, clients: readonly string[]): Promise<void> {
  const calls = g.hook.calls.length;
  const mails = g.smtp.received.length;
  const answers: ProxiedAnswer[] = [];
  for (let i = 0; i < clients.length; i += 10) answers.push(...await Promise.all(clients.slice(i, i + 10).map((c) => g.search(DANGER, c))));
  expect(answers.map((a) => a.status)).toEqual(clients.map(() => 200));
  const stored = g.alerts.store.list(g.config.safeguarding, { limit: 1000 }).filter((a) => clients.includes(a.client));
  expect(stored.length).toBe(clients.length);
  expect(new Set(stored.map((a) => a.client)).size).toBe(clients.length);
  expect(stored.every((a) => a.category === 'suicide' && a.severity === 'danger' && a.count === 1)).toBe(true);
  // All wait in the outbox, not yet on the queue, and nothing reaches anyone meanwhile.
  const waiting = g.alerts.store.pending(1000, 0);
  expect(waiting.length).toBe(clients.length);
  const expected = waiting.map((r) => deliveryOf(r.id)).sort();
  // None was relayed (relayed_at is set before a job exists), and only a job delivers when Redis
  // is configured: so nothing can have reached anyone, with no wait to see that nothing does.
  expect(g.hook.calls.length).toBe(calls);
  expect(g.smtp.received.length).toBe(mails);

  await server.start();
  expect(await until(() => g.hook.calls.length >= calls + clients.length && g.smtp.received.length >= mails + clients.length, 90_000)).toBe(true);
  // Nothing left that could send anything twice.
  await settled(g, server);
  const hooks = g.hook.calls.slice(calls).map((c) => c.delivery);
  const sent = g.smtp.received.slice(mails).map(mailDelivery);
  expect(hooks.length).toBe(clients.length);
  expect(sent.length).toBe(clients.length);
  expect([...new Set(hooks)].sort()).toEqual(expected);
  expect([...new Set(sent)].sort()).toEqual(expected);
  expect(g.hook.calls.slice(calls).every((c) => c.signed)).toBe(true);
  expect(g.alerts.store.pending(1000)).toEqual([]);
}

describe('alerts through BullMQ, worker in the proxy process', () => {
  let g: Gate;
  beforeAll(async () => {
    g = await startGate({ work: true, redis });
  });
  // A failed outage test must not leave Redis down for the tests after it.
  afterEach(async () => {
    if (!redis.running) await redis.start();
  });
  afterAll(async () => {
    await g?.close();
  });

  it('delivers an alert through the queue: one e-mail and one signed webhook call', async () => {
    expect((await g.search(DANGER, '127.0.0.21')).status).toBe(200);
    const [a] = g.alerts.store.list(g.config.safeguarding, { limit: 1 });
    expect(a).toMatchObject({ category: 'suicide', severity: 'danger', client: '127.0.0.21' });
    const outboxId = g.outboxOf(Number(a!.id));
    expect(await until(() => g.smtp.received.length === 1 && g.hook.calls.length === 1)).toBe(true);
    expect(g.hook.calls[0]).toMatchObject({ delivery: deliveryOf(outboxId), signed: true, body: { type: 'alert', category: 'suicide', severity: 'danger' } });
    expect(mailDelivery(g.smtp.received[0]!)).toBe(deliveryOf(outboxId));
    // It went through Redis: the row was relayed, and its job (named after the row) completed there.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('alerts', { connection, prefix: g.prefix });
    try {
      expect(await until(async () => (await queue.getJobState(`outbox-${outboxId}`)) === 'completed')).toBe(true);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(g.alerts.store.outbox(outboxId)).toMatchObject({ state: 'delivered' });
    expect(g.alerts.store.outbox(outboxId)!.relayedAt).not.toBeNull();
    await settled(g, redis);
    expect(g.smtp.received.length).toBe(1);
    expect(g.hook.calls.length).toBe(1);
  });

  it('with Redis stopped, 100 pupils\' alerts are stored and answered; when it returns each is delivered exactly once', async () => {
    await redis.stop();
    await outage(g, redis, Array.from({ length: 100 }, (_, i) => `127.0.1.${i + 1}`));
  });
});

describe('alerts through BullMQ, Schoolgate started while Redis is down', () => {
  let down: RedisServer;
  let g: Gate;
  beforeAll(async () => {
    down = await redisServer();
    await down.stop();
    g = await startGate({ work: true, redis: down });
  });
  afterAll(async () => {
    if (down && !down.running) await down.start();
    await g?.close();
    await down?.stop();
  });

  it('alerts raised before Redis ever answered are delivered, each once, when it does', async () => {
    await outage(g, down, Array.from({ length: 20 }, (_, i) => `127.0.2.${i + 1}`));
  });
});

/** A worker process (test/helpers/alert-worker.ts) on the gate's data folder and configuration. */
interface WorkerProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

async function startWorker(g: Gate): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/alert-worker.ts', g.data, g.config.file, String(LOCK_MS)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ok, fail) => {
    createInterface({ input: child.stdout }).once('line', () => ok());
    void exited.then(() => fail(new Error('the worker process exited before it was ready')));
  });
  return {
    child, exited,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

describe('alerts through BullMQ, workers in processes of their own', () => {
  let g: Gate;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    // This process only relays the outbox to the queue; the workers deliver.
    g = await startGate({ work: false, redis });
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await g?.close();
  });

  // "A killed worker mid-delivery redelivers once", measured at the receiver. The first worker
  // sent the e-mail (recorded), then POSTed the webhook and was killed while the receiver held
  // that request open: the receiver had the call, but no 2xx ever came back, so Schoolgate
  // cannot know it arrived and must send it again. Another worker takes the job once the dead
  // one's lock expires and sends the webhook again, with the same X-Schoolgate-Delivery id, and
  // not the e-mail. So the receiver sees that id exactly twice (the call cut off, and the
  // redelivery that succeeds), never a third time; a receiver that drops ids it has seen keeps one.
  it('a worker killed mid-delivery: another delivers the job again, once, without repeating the e-mail', async () => {
    g.hook.holdNext(1);
    const first = await startWorker(g);
    workers.push(first);
    expect((await g.search(DANGER, '127.0.0.31')).status).toBe(200);
    const [a] = g.alerts.store.list(g.config.safeguarding, { limit: 1 });
    const outboxId = g.outboxOf(Number(a!.id));
    const id = deliveryOf(outboxId);
    // The first worker is in the middle of the delivery: the e-mail accepted, the webhook call open.
    expect(await until(() => g.hook.held.length === 1)).toBe(true);
    expect(g.hook.held[0]!.delivery).toBe(id);
    expect(g.smtp.received.map(mailDelivery)).toEqual([id]);
    expect(g.alerts.store.outbox(outboxId)).toMatchObject({ state: 'pending' });
    first.child.kill('SIGKILL');
    await first.exited;

    workers.push(await startWorker(g));
    expect(await until(() => g.hook.calls.length === 1)).toBe(true);
    expect(await until(() => g.alerts.store.outbox(outboxId)?.state === 'delivered')).toBe(true);
    // The job completed and nothing else is queued: a third call could come from nowhere.
    await settled(g, redis);
    const seen = [...g.hook.held, ...g.hook.calls].map((c) => c.delivery);
    expect(seen).toEqual([id, id]);
    expect(g.hook.calls[0]!.signed).toBe(true);
    expect(g.smtp.received.map(mailDelivery)).toEqual([id]);
    expect(g.alerts.store.pending(10)).toEqual([]);
  });
});

// The outbox is read 100 rows at a time. A backlog longer than that (after an outage, or a burst)
// must drain at once, batch after batch, not one batch per poll: here the poll is 10 minutes
// away, so only that can deliver everything within the test.
describe('a backlog of more than one outbox batch drains without waiting for the poll', () => {
  const NEVER = 600_000;

  it('in-process: 110 alerts raised while a delivery hangs are all delivered, each once, after it', async () => {
    const g = await startGate({ work: true, redis: null, pollMs: NEVER });
    try {
      // The first notification hangs at the receiver (until the webhook's 10 s timeout) while 110 more are raised.
      g.hook.holdNext(1);
      expect((await g.search(DANGER, '127.0.5.1')).status).toBe(200);
      expect(await until(() => g.hook.held.length === 1)).toBe(true);
      const clients = Array.from({ length: 110 }, (_, i) => `127.0.6.${i + 1}`);
      for (let i = 0; i < clients.length; i += 10) await Promise.all(clients.slice(i, i + 10).map((c) => g.search(DANGER, c)));
      expect(g.alerts.store.pending(1000).length).toBe(111);
      expect(await until(() => g.hook.calls.length >= 111)).toBe(true);
      // Every row delivered, and the in-process queue stopped (its close waits for a delivery
      // under way): nothing can call the receiver again.
      await settled(g, null);
      await g.alerts.queue.close();
      expect(g.hook.calls.length).toBe(111);
      expect(new Set(g.hook.calls.map((c) => c.delivery)).size).toBe(111);
      expect(g.alerts.store.pending(1000)).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it('BullMQ: 110 alerts raised while Redis is down are all relayed and delivered, each once, after the next kick', async () => {
    const server = await redisServer();
    await server.stop();
    const g = await startGate({ work: true, redis: server, pollMs: NEVER });
    try {
      const clients = Array.from({ length: 110 }, (_, i) => `127.0.7.${i + 1}`);
      for (let i = 0; i < clients.length; i += 10) await Promise.all(clients.slice(i, i + 10).map((c) => g.search(DANGER, c)));
      expect(g.alerts.store.pending(1000, 0).length).toBe(110);
      await server.start();
      // Nothing polls, so the next alert's kick is what relays. Until the relay has its connection
      // back, a kick finds Redis away: an alert every 250 ms (the spacing is only so as not to
      // raise hundreds; nothing is measured by it), from a new device, until one relays. The cap
      // is about a minute of that, so a slow reconnect on a loaded machine is not a failure.
      let raised = 110;
      while (g.alerts.store.pending(1000, 0).length === raised && raised < 350) {
        expect((await g.search(DANGER, `127.0.${8 + Math.floor((raised - 110) / 200)}.${1 + ((raised - 110) % 200)}`)).status).toBe(200);
        raised++;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await until(() => g.hook.calls.length >= raised)).toBe(true);
      await settled(g, server);
      expect(g.hook.calls.length).toBe(raised);
      expect(new Set(g.hook.calls.map((c) => c.delivery)).size).toBe(raised);
      expect(g.alerts.store.pending(1000)).toEqual([]);
    } finally {
      if (!server.running) await server.start();
      await g.close();
      await server.stop();
    }
  });
});
