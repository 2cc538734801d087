// Delivers one outbox row to every channel: e-mail to the DSL and deputies, and each webhook.
// A channel is recorded the moment it accepts, so a retry (by the in-process loop or by BullMQ,
// after a crash or a failure elsewhere) repeats only the channels that have not.
import type { SafeguardingConfig } from './taxonomy.js';
import { emailRecipients, type EmailNotifier } from './notify-email.js';
import { postWebhook } from './notify-webhook.js';
import { alertPayload, renderAlert, renderDigest, type AlertNotice, type RenderContext, type RenderedMessage } from './render.js';
import type { AlertStore, OutboxRow } from './store.js';

export interface DeliveryDeps {
  readonly store: AlertStore;
  readonly config: () => SafeguardingConfig;
  readonly context: () => RenderContext;
  /** null when no SMTP server is configured: e-mail is then not a channel. */
  readonly email: () => EmailNotifier | null;
  readonly now?: () => number;
}

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

export type DeliveryResult = 'delivered' | 'already-delivered' | 'gone';

/** Delivers the row; throws DeliveryError naming the channels that failed (the caller retries). */
export async function deliverOutbox(deps: DeliveryDeps, outboxId: number): Promise<DeliveryResult> {
  const now = deps.now ?? Date.now;
  const row = deps.store.outbox(outboxId);
  if (!row) return 'gone';
  if (row.state === 'delivered') return 'already-delivered';
  const cfg = deps.config();
  const ctx = deps.context();
  const content = contentOf(deps, row, cfg, ctx);
  if (content === null) {
    deps.store.markDelivered(row.id, now());
    return 'gone';
  }
  const failures: string[] = [];
  const deliveryId = `schoolgate-${row.kind}-${row.id}`;
  const email = deps.email();
  const to = emailRecipients(cfg.recipients);
  if (email !== null && to.length > 0 && !deps.store.delivered(row.id, 'email')) {
    try {
      await email.send(deliveryId, to, content.message());
      deps.store.recordDelivery(row.id, 'email', now());
    } catch (err) {
      failures.push(`e-mail: ${(err as Error).message}`);
    }
  }
  for (const hook of cfg.recipients.webhooks) {
    const channel = `webhook:${hook.url}`;
    if (deps.store.delivered(row.id, channel)) continue;
    try {
      await postWebhook(hook, deliveryId, content.payload());
      deps.store.recordDelivery(row.id, channel, now());
    } catch (err) {
      failures.push(`webhook ${new URL(hook.url).host}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) throw new DeliveryError(failures.join('; '));
  deps.store.markDelivered(row.id, now());
  return 'delivered';
}

/** Rendered on first use: most schools have one channel, and rendering is most of the cost. */
interface Content {
  readonly message: () => RenderedMessage;
  readonly payload: () => unknown;
}

function once<T>(make: () => T): () => T {
  let value: { v: T } | null = null;
  return () => (value ??= { v: make() }).v;
}

function contentOf(deps: DeliveryDeps, row: OutboxRow, cfg: SafeguardingConfig, ctx: RenderContext): Content | null {
  if (row.kind === 'immediate') {
    const alert = row.alertId === null ? undefined : deps.store.get(row.alertId, cfg);
    if (!alert) return null;
    return { message: once(() => renderAlert(alert, ctx)), payload: once(() => ({ type: 'alert', ...alertPayload(alert, ctx) })) };
  }
  const { period, from, to } = JSON.parse(row.payload ?? '{}') as { period: 'daily' | 'weekly'; from: number; to: number };
  const alerts: AlertNotice[] = deps.store.list(cfg, { from, to, limit: 10_000 });
  // Immediate notifications that failed for good are in the digest again: nothing is dropped silently.
  const failed = deps.store.failedSince(from).map((o) => o.alertId).filter((id): id is number => id !== null);
  const extra = failed.filter((id) => !alerts.some((a) => a.id === String(id))).map((id) => deps.store.get(id, cfg)).filter((a): a is NonNullable<typeof a> => a !== undefined);
  const digest = { period, from, to, alerts: [...alerts, ...extra] };
  return {
    message: once(() => renderDigest(digest, ctx)),
    payload: once(() => ({ type: 'digest', period, from: new Date(from).toISOString(), to: new Date(to).toISOString(), alerts: digest.alerts.map((a) => alertPayload(a, ctx)) })),
  };
}
