// Delivers one outbox row to every channel: e-mail to the DSL and deputies, and each webhook.
// A channel is recorded the moment it accepts, so a retry (by the in-process loop or by BullMQ,
// after a crash or a failure elsewhere) repeats only the channels that have not. A row no
// channel can take (no recipient, no webhook) is marked untold, never delivered: the DSL was not
// told, and `alerts show`, `alerts list`, the digest and the log say so.
import type { Logger } from '../log.js';
import { nobodyToTell } from './recipients.js';
import type { SafeguardingConfig } from './taxonomy.js';
import { emailRecipients, type EmailNotifier } from './notify-email.js';
import { postWebhook } from './notify-webhook.js';
import { alertPayload, renderAlert, renderDigest, type Digest, type DigestKind, type RenderContext, type RenderedMessage } from './render.js';
import type { AlertStore, OutboxRow, StoredAlert } from './store.js';

export interface DeliveryDeps {
  readonly store: AlertStore;
  readonly config: () => SafeguardingConfig;
  readonly context: () => RenderContext;
  /** null when no SMTP server is configured: e-mail is then not a channel. */
  readonly email: () => EmailNotifier | null;
  readonly now?: () => number;
  /** Where "nobody to tell" is reported (the queue reports failures itself). */
  readonly log?: Logger;
}

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

export type DeliveryResult = 'delivered' | 'already-delivered' | 'gone' | 'untold';

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
  // A row some channel already took was delivered to it, whatever the configuration says now.
  const nobody = nobodyToTell(cfg.recipients, email !== null);
  if (nobody !== null && deps.store.deliveries(row.id).length === 0) {
    deps.store.markUntold(row.id, `nobody to tell: ${nobody}`, now());
    deps.log?.warn({ outbox: row.id, kind: row.kind, alert: row.alertId, severity: row.severity, file: cfg.file }, `safeguarding ${row.kind === 'digest' ? 'digest' : 'alert'} not delivered: nobody to tell: ${nobody}`);
    return 'untold';
  }
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
  const { period, from, to, alerts: untold = [] } = JSON.parse(row.payload ?? '{}') as { period: DigestKind; from: number; to: number; alerts?: number[] };
  const alerts: StoredAlert[] = deps.store.list(cfg, { from, to, limit: 10_000 });
  // Immediate notifications that failed for good are in the digest again, and a catch-up names
  // every alert nobody was told about: nothing is dropped silently.
  const failed = deps.store.failedSince(from).map((o) => o.alertId).filter((id): id is number => id !== null);
  const extra = [...new Set([...failed, ...untold])].filter((id) => !alerts.some((a) => a.id === String(id))).map((id) => deps.store.get(id, cfg)).filter((a): a is StoredAlert => a !== undefined);
  const all = [...alerts, ...extra];
  const digest: Digest = { period, from, to, alerts: all, notes: deliveryNotes(all) };
  return {
    message: once(() => renderDigest(digest, ctx)),
    payload: once(() => ({ type: 'digest', period, from: new Date(from).toISOString(), to: new Date(to).toISOString(), alerts: digest.alerts.map((a) => ({ ...alertPayload(a, ctx), ...(digest.notes?.has(a.id) ? { note: digest.notes.get(a.id) } : {}) })) })),
  };
}

/** What the digest says of alerts whose notification sent at once did not reach anyone. */
function deliveryNotes(alerts: readonly StoredAlert[]): ReadonlyMap<string, string> {
  const notes = new Map<string, string>();
  for (const a of alerts) {
    if (a.delivery === 'untold') notes.set(a.id, 'not sent at once: nobody to tell (no recipient or channel was set up)');
    else if (a.delivery === 'failed') notes.set(a.id, 'sending it at once failed for good: this digest is the first the DSL hears of it');
  }
  return notes;
}
