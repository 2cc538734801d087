// The alert pipeline end to end, in-process delivery (no Redis configured): a request through
// the proxy, the alert journalled before the answer and stored in data/alerts.db by the writer
// thread (awaited with settle()), then one e-mail through a
// real SMTP server and one signed webhook call; folding; illegal content; a failing webhook.
import { readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerts/service.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy, viaProxy } from '../helpers/proxy.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { eventually as until } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';

const SECRET = 'test-webhook-secret';
const tmp = tempDir();
let origin: http.Server;
let originPort = 0;
let proxy: Proxy;
let proxyPort = 0;
let smtp: SmtpReceiver;
let hook: WebhookReceiver;
let alerts: AlertService;
let config: SchoolgateConfig;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  smtp = await smtpReceiver();
  hook = await webhookReceiver(SECRET);
  const file = join(tmp.dir, 'safeguarding.yaml');
  writeFileSync(file, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  const yaml = `safeguarding: ${file}\nproxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    www.google.com: 127.0.0.1\n    "*.selftest.invalid": 127.0.0.1\n`;
  const started = await startProxy(tmp.dir, yaml, undefined, {});
  config = started.config;
  alerts = await AlertService.start({ dataDir: join(tmp.dir, 'data'), config: () => config, log: createLogger({ level: 'silent' }), retry: { backoffMs: 50, pollMs: 100, attempts: 4 } });
  await closeAll(started.proxy);
  ({ proxy, port: proxyPort } = await startProxy(tmp.dir, yaml, undefined, { alerts }));
});

afterAll(async () => {
  await closeAll(origin, proxy);
  await alerts.close();
  await smtp.close();
  await hook.close();
  tmp.cleanup();
});

/** A search through the proxy; answered, and whatever it raised stored. */
const search = async (q: string, from: string) => {
  const answer = await viaProxy(proxyPort, `http://www.google.com:${originPort}/search?q=${encodeURIComponent(q).replace(/%20/g, '+')}`, { localAddress: from });
  expect(await alerts.settle()).toBe(true);
  return answer;
};

describe('alerts end to end', () => {
  it('a self-harm search raises one alert, stored, then one e-mail and one signed webhook call', async () => {
    const answer = await search('how to hide my cuts from mum', '127.0.0.11');
    expect(answer.status).toBe(200);
    const [a] = alerts.store.list(config.safeguarding, { limit: 1 });
    expect(a).toMatchObject({ category: 'self-harm', severity: 'danger', client: '127.0.0.11', group: 'ks2', count: 1, searchTerm: 'how to hide my cuts from mum' });
    expect(await until(() => smtp.received.length === 1 && hook.calls.length === 1, 15_000)).toBe(true);
    const mail = smtp.received[0]!;
    expect(mail.subject).toMatch(/Safeguarding alert, danger: Self-harm/);
    expect(mail.text).toContain('how to hide my cuts from mum');
    expect(hook.calls[0]).toMatchObject({ signed: true, body: { type: 'alert', category: 'self-harm', severity: 'danger' } });
    // Nothing more arrives: each channel was given it once.
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.length).toBe(1);
    expect(hook.calls.length).toBe(1);
  });

  it('folds 50 rapid variants from one pupil into one alert with count 50, notified once', async () => {
    const mails = smtp.received.length;
    const calls = hook.calls.length;
    const variants = Array.from({ length: 50 }, (_, i) => `how to hide my cuts from mum ${'?'.repeat(i % 3)} ${i}`);
    for (const v of variants) await search(v, '127.0.0.12');
    const mine = alerts.store.list(config.safeguarding, { limit: 10 }).filter((a) => a.client === '127.0.0.12');
    expect(mine.length).toBe(1);
    expect(mine[0]!.count).toBe(50);
    expect(await until(() => smtp.received.length === mails + 1 && hook.calls.length === calls + 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.length).toBe(mails + 1);
  });

  it('an illegal-list attempt notifies at once without the address or a link to it', async () => {
    const mails = smtp.received.length;
    const calls = hook.calls.length;
    expect((await viaProxy(proxyPort, 'http://iwf.selftest.invalid/some/page', { localAddress: '127.0.0.13' })).status).toBe(403);
    // Wait for both channels: a webhook still in flight would land in the next test's counts.
    expect(await until(() => smtp.received.length === mails + 1 && hook.calls.length === calls + 1)).toBe(true);
    const mail = smtp.received.at(-1)!;
    expect(mail.subject).toMatch(/danger/);
    for (const text of [mail.text ?? '', typeof mail.html === 'string' ? mail.html : '']) {
      expect(text).not.toContain('iwf.selftest.invalid');
      expect(text).not.toContain('/some/page');
    }
    expect(mail.text).toMatch(/police/i);
    const call = hook.calls.at(-1)!;
    expect(call.body).toMatchObject({ client: '127.0.0.13' });
    expect(JSON.stringify(call.body)).not.toContain('iwf.selftest.invalid');
  });

  it('retries a failing webhook with backoff and delivers once; the e-mail is not sent again', async () => {
    const mails = smtp.received.length;
    const calls = hook.calls.length;
    const refused = hook.refused.count;
    hook.failNext(2);
    await search('i want to kill myself', '127.0.0.14');
    const mine = () => hook.calls.slice(calls).filter((c) => (c.body as { client?: string }).client === '127.0.0.14');
    expect(await until(() => mine().length === 1)).toBe(true);
    expect(hook.refused.count).toBe(refused + 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(mine().length).toBe(1);
    expect(hook.calls.length).toBe(calls + 1);
    expect(smtp.received.length).toBe(mails + 1);
    const row = alerts.store.pending(10);
    expect(row).toEqual([]);
  });
});
