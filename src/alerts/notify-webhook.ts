// Webhook delivery: one POST of JSON per alert, signed so the receiver knows it came from this
// Schoolgate and was not changed on the way. X-Schoolgate-Signature is "sha256=" and the hex
// HMAC-SHA256 of the exact body bytes with the webhook's secret; X-Schoolgate-Delivery is the
// alert's id, the same on every retry, so a receiver can drop a delivery it already has.
// Anything but a 2xx answer within the timeout is a failure, which the caller retries.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { WebhookTarget } from './recipients.js';

export const SIGNATURE_HEADER = 'x-schoolgate-signature';
export const DELIVERY_HEADER = 'x-schoolgate-delivery';
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  /** The HTTP status, or null when there was no answer (refused, timed out). */
  constructor(message: string, readonly status: number | null) {
    super(message);
  }
}

export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): whether a signature header matches the body, compared in constant time. */
export function verifySignature(body: string | Uint8Array, secret: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface WebhookOptions {
  readonly timeoutMs?: number;
  /** An undici dispatcher (tests, or a school that must go through its own proxy). */
  readonly dispatcher?: Dispatcher;
}

/** POSTs `payload` as JSON to the webhook; resolves with the status, or throws WebhookError. */
export async function postWebhook(target: WebhookTarget, deliveryId: string, payload: unknown, opts: WebhookOptions = {}): Promise<{ status: number }> {
  const body = JSON.stringify(payload);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(target.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Schoolgate',
        [SIGNATURE_HEADER]: signBody(body, target.secret),
        [DELIVERY_HEADER]: deliveryId,
      },
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError' || (e as NodeJS.ErrnoException).code === 'UND_ERR_HEADERS_TIMEOUT';
    throw new WebhookError(`webhook ${origin(target.url)}: ${timedOut ? `no answer within ${timeoutMs} ms` : e.message}`, null);
  }
  // The answer's body is not needed; reading it to the end frees the connection.
  await res.body.dump().catch(() => {});
  if (res.statusCode < 200 || res.statusCode > 299) throw new WebhookError(`webhook ${origin(target.url)} answered ${res.statusCode}`, res.statusCode);
  return { status: res.statusCode };
}

/** The scheme, host and port: a webhook's path may carry a token, so messages leave it out. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(bad address)';
  }
}
