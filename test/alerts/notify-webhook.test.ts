// The webhook notifier against a real node:http receiver on loopback that checks the signature
// over the raw body bytes, as a receiver would.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook, signBody, verifySignature, WebhookError } from '../../src/alerts/notify-webhook.js';

const SECRET = 'a-secret-of-at-least-16-characters';

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly method: string;
  readonly body: Buffer;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A receiver answering `status` (or nothing at all, for null); returns its URL and what it got. */
async function receiver(status: number | null = 204): Promise<{ url: string; got: Delivery[] }> {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, method: req.method ?? '', body: Buffer.concat(chunks) });
      if (status === null) return; // never answers
      res.writeHead(status, status >= 300 && status < 400 ? { location: 'http://127.0.0.1:1/' } : {}).end(status === 200 ? '{"ok":true}' : '');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/schoolgate?token=t0ken`, got };
}

const payload = { type: 'alert', id: 'a-77', category: 'suicide', severity: 'danger', searchTerm: 'how to kill myself — ünïcödé', triggers: [] };

describe('the webhook notifier', () => {
  it('POSTs the JSON with an HMAC-SHA256 signature of the raw body and the delivery id', async () => {
    const { url, got } = await receiver(200);
    expect(await postWebhook({ url, secret: SECRET }, 'a-77', payload)).toEqual({ status: 200 });
    expect(got).toHaveLength(1);
    const { headers, method, body } = got[0]!;
    expect(method).toBe('POST');
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(headers['x-schoolgate-delivery']).toBe('a-77');
    // The receiver's own check, with nothing of ours: HMAC-SHA256 over the bytes received.
    expect(headers['x-schoolgate-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    expect(verifySignature(body, SECRET, headers['x-schoolgate-signature'] as string)).toBe(true);
    expect(JSON.parse(body.toString('utf8'))).toEqual(payload);
  });

  it('sends the same delivery id and signature on a retry, so the receiver can drop the repeat', async () => {
    const { url, got } = await receiver(202);
    await postWebhook({ url, secret: SECRET }, 'a-77', payload);
    await postWebhook({ url, secret: SECRET }, 'a-77', payload);
    expect(got.map((d) => d.headers['x-schoolgate-delivery'])).toEqual(['a-77', 'a-77']);
    expect(got[0]!.headers['x-schoolgate-signature']).toBe(got[1]!.headers['x-schoolgate-signature']);
  });

  it.each([500, 404, 302])('treats an answer of %i as a failure', async (status) => {
    const { url, got } = await receiver(status);
    const err = await postWebhook({ url, secret: SECRET }, 'a-78', payload).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    expect((err as WebhookError).status).toBe(status);
    expect((err as WebhookError).message).toBe(`webhook ${new URL(url).origin} answered ${status}`);
    expect(got).toHaveLength(1);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const { url, got } = await receiver(null);
    // The receiver never answers: only the timeout can end this (without it the test would hang
    // until its own timeout), and the error says it was that timeout. How long it took on this
    // machine is not asserted.
    const err = await postWebhook({ url, secret: SECRET }, 'a-79', payload, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    expect((err as WebhookError).status).toBeNull();
    expect((err as WebhookError).message).toContain('no answer within 300 ms');
    expect(got).toHaveLength(1);
  });

  it('fails when nothing listens, without putting the address path (it may hold a token) in the message', async () => {
    const { url } = await receiver();
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const err = await postWebhook({ url, secret: SECRET }, 'a-80', payload).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    expect((err as WebhookError).status).toBeNull();
    expect((err as Error).message).not.toContain('t0ken');
  });
});

describe('signatures', () => {
  it('do not verify with another secret, another body, or none', () => {
    const body = JSON.stringify(payload);
    const sig = signBody(body, SECRET);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(body, SECRET, sig)).toBe(true);
    expect(verifySignature(body, `${SECRET}x`, sig)).toBe(false);
    expect(verifySignature(`${body} `, SECRET, sig)).toBe(false);
    expect(verifySignature(body, SECRET, undefined)).toBe(false);
    expect(verifySignature(body, SECRET, 'sha256=00')).toBe(false);
  });
});
