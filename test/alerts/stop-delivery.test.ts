// Closing the alert service while a notification is being sent: the webhook holds the call open
// (it never answers), close() is given a short grace, and must still return, every connection
// closed. The notification is not lost and not counted as a failed attempt: the next service on
// the same data folder (the next start) sends it, with the same delivery id. With BullMQ the job
// goes back on the queue; in-process the outbox row simply stays pending.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { AlertService } from '../../src/alerts/service.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { searchAlert } from '../helpers/alerts.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually as until } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';

const SECRET = 'test-webhook-secret';
const tmp = tempDir('schoolgate-stop-delivery-');
let redis: RedisServer;
let smtp: SmtpReceiver;
let hook: WebhookReceiver;
let n = 0;

beforeAll(async () => {
  redis = await redisServer();
  smtp = await smtpReceiver();
  hook = await webhookReceiver(SECRET);
});

afterAll(async () => {
  await smtp?.close();
  await hook?.close();
  await redis?.stop();
  tmp.cleanup();
});

function configFor(withRedis: boolean): { config: SchoolgateConfig; data: string; prefix: string } {
  const dir = join(tmp.dir, `run-${++n}`);
  const file = join(tmp.dir, `safeguarding-${n}.yaml`);
  writeFileSync(file, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  const prefix = `sgtest-${randomBytes(6).toString('hex')}`;
  const queue = withRedis ? `redis:\n  url: ${redis.url}\n  prefix: ${prefix}\n` : '';
  return { config: loadConfig(writeTestConfig(tmp.dir, `safeguarding: ${file}\n${queue}`)), data: dir, prefix };
}

const startService = (config: SchoolgateConfig, data: string): Promise<AlertService> =>
  AlertService.start({ dataDir: data, config: () => config, log: createLogger({ level: 'silent' }), retry: { backoffMs: 50, pollMs: 100 } });

/** Raises a danger alert and waits until its webhook call is held open by the receiver; returns the outbox row. */
async function deliveryHeld(alerts: AlertService, config: SchoolgateConfig, client: string): Promise<number> {
  hook.holdNext(1);
  const held = hook.held.length;
  const [raised] = alerts.store.raise([searchAlert('suicide', 'danger', 'i want to kill myself', 'kill myself')], { at: Date.now(), client, user: null, group: 'ks2', trafficId: null }, config.safeguarding);
  alerts.queue.kick();
  expect(await until(() => hook.held.length > held)).toBe(true);
  return raised!.outboxId!;
}

/** The next service on the same data folder delivers the row to the webhook, same id, and nothing was counted as failed. */
async function deliveredAfterRestart(config: SchoolgateConfig, data: string, outboxId: number): Promise<void> {
  const row = openAlertsDatabase(data);
  try {
    expect(row.prepare('SELECT state, attempts FROM outbox WHERE id = ?').get(outboxId)).toEqual({ state: 'pending', attempts: 0 });
  } finally {
    row.close();
  }
  const calls = hook.calls.length;
  const next = await startService(config, data);
  try {
    expect(await until(() => next.store.outbox(outboxId)?.state === 'delivered')).toBe(true);
    expect(hook.calls.slice(calls).map((c) => c.delivery)).toEqual([`schoolgate-immediate-${outboxId}`]);
  } finally {
    await next.close();
  }
}

describe('closing the alert service while a webhook call hangs', () => {
  it('BullMQ: close() returns, the job goes back on the queue uncounted, and the next start delivers it', async () => {
    const { config, data, prefix } = configFor(true);
    const alerts = await startService(config, data);
    const outboxId = await deliveryHeld(alerts, config, '10.0.1.1');
    await alerts.close({ graceMs: 100 });
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('alerts', { connection, prefix });
    try {
      const job = await queue.getJob(`outbox-${outboxId}`);
      expect(['delayed', 'wait']).toContain(await job!.getState());
      expect(job!.attemptsMade).toBe(0);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    await deliveredAfterRestart(config, data, outboxId);
  });

  it('in-process: close() returns, the row stays pending uncounted, and the next start delivers it', async () => {
    const { config, data } = configFor(false);
    const alerts = await startService(config, data);
    const outboxId = await deliveryHeld(alerts, config, '10.0.1.2');
    await alerts.close({ graceMs: 100 });
    await deliveredAfterRestart(config, data, outboxId);
  });
});
