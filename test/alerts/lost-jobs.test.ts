// Redis losing its jobs does not leave alerts waiting. A danger alert's webhook fails, so its
// BullMQ job waits out a backoff (ten minutes here: BullMQ's own retry cannot be what delivers
// it). Then Redis loses the job: restarted empty (a redis-server of the test's own), or flushed
// while running. The webhook works again, and the alert must reach it within the 60 s promised
// (README, "Delivery, outages and retries"): only the relay noticing the loss and adding the job
// back can do that, long before the outbox row would otherwise be looked at again.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerts/service.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { searchAlert } from '../helpers/alerts.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually as until } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';

const SECRET = 'test-webhook-secret';
/** The requirement: an immediate alert reaches a working channel this soon after Redis returns. */
const PROMISED_MS = 60_000;
const tmp = tempDir('schoolgate-lost-jobs-');
const prefix = `sgtest-${randomBytes(6).toString('hex')}`;
let redis: RedisServer;
let smtp: SmtpReceiver;
let hook: WebhookReceiver;
let config: SchoolgateConfig;
let alerts: AlertService;
const logged: { msg: string; requeued?: number; restarted?: boolean }[] = [];

beforeAll(async () => {
  redis = await redisServer();
  smtp = await smtpReceiver();
  hook = await webhookReceiver(SECRET);
  const file = join(tmp.dir, 'safeguarding.yaml');
  writeFileSync(file, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  config = loadConfig(writeTestConfig(tmp.dir, `safeguarding: ${file}\nredis:\n  url: ${redis.url}\n  prefix: ${prefix}\n`));
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) });
  alerts = await AlertService.start({ dataDir: join(tmp.dir, 'data'), config: () => config, log, retry: { attempts: 8, backoffMs: 10 * 60_000, pollMs: 100 } });
});

afterAll(async () => {
  await alerts?.close();
  await smtp?.close();
  await hook?.close();
  await redis?.stop();
  tmp.cleanup();
});

/** The state of the outbox row's job in Redis, as BullMQ reports it. */
async function jobState(outboxId: number): Promise<string> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('alerts', { connection, prefix });
  try {
    return await queue.getJobState(`outbox-${outboxId}`);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/**
 * Raises a danger alert from `client` whose webhook call fails; resolves once the e-mail went,
 * the failure is recorded, and the job waits out its backoff in Redis. Returns the outbox row.
 */
async function alertInBackoff(client: string): Promise<number> {
  hook.failNext(1);
  const refused = hook.refused.count;
  const mails = smtp.received.length;
  const [raised] = alerts.store.raise([searchAlert('suicide', 'danger', 'i want to kill myself', 'kill myself')], { at: Date.now(), client, user: null, group: 'ks2', trafficId: null }, config.safeguarding);
  const outboxId = raised!.outboxId!;
  alerts.queue.kick();
  expect(await until(() => alerts.store.outbox(outboxId)?.attempts === 1)).toBe(true);
  expect(hook.refused.count).toBe(refused + 1);
  expect(smtp.received.length).toBe(mails + 1);
  expect(alerts.store.outbox(outboxId)).toMatchObject({ state: 'pending', relayedAt: expect.any(Number) });
  expect(await jobState(outboxId)).toBe('delayed');
  return outboxId;
}

/** Once the webhook has the alert: signed, named after the row, the e-mail not sent again, the row delivered. */
async function expectDelivered(outboxId: number, calls: number, mails: number): Promise<void> {
  expect(await until(() => hook.calls.length > calls, PROMISED_MS)).toBe(true);
  expect(hook.calls.slice(calls)).toEqual([expect.objectContaining({ delivery: `schoolgate-immediate-${outboxId}`, signed: true })]);
  expect(await until(() => alerts.store.outbox(outboxId)?.state === 'delivered')).toBe(true);
  expect(smtp.received.length).toBe(mails);
}

describe('alerts whose jobs Redis lost', () => {
  it('Redis restarted empty: the job is added back when it returns, and the alert delivered at once', async () => {
    const outboxId = await alertInBackoff('10.0.0.1');
    const calls = hook.calls.length;
    const mails = smtp.received.length;
    await redis.stop();
    await redis.start();
    await expectDelivered(outboxId, calls, mails);
    expect(logged).toContainEqual(expect.objectContaining({ requeued: 1, restarted: true, msg: expect.stringMatching(/Redis had lost 1 alert notification .*queued again/) }));
  });

  it('Redis flushed while running: the job is added back, and the alert delivered at once', async () => {
    const outboxId = await alertInBackoff('10.0.0.2');
    const calls = hook.calls.length;
    const mails = smtp.received.length;
    const before = logged.length;
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      await admin.flushall();
    } finally {
      admin.disconnect();
    }
    await expectDelivered(outboxId, calls, mails);
    expect(logged.slice(before)).toContainEqual(expect.objectContaining({ requeued: 1, restarted: false }));
  });
});
