// E-mail delivery through the school's SMTP server (nodemailer). One message per alert or
// digest, to the DSL and the deputies. The Message-ID is made from the alert's id, so a message
// sent twice (a retry after a lost answer) is recognisably the same message. A failure (the
// server unreachable, every recipient refused) throws, and the caller retries.
import { createTransport, type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { RenderedMessage } from './render.js';
import type { Recipient, Recipients, SmtpSettings } from './recipients.js';

export const DEFAULT_EMAIL_TIMEOUT_MS = 30_000;

export interface EmailResult {
  readonly messageId: string;
  readonly accepted: readonly string[];
  /** Addresses the server refused (the others were sent to: do not retry for them). */
  readonly rejected: readonly string[];
}

export class EmailError extends Error {
  override readonly name = 'EmailError';
}

/** The DSL first, then the deputies, each address once. */
export function emailRecipients(r: Recipients): Recipient[] {
  const seen = new Set<string>();
  return [...r.dsl, ...r.deputies].filter((p) => !seen.has(p.email.toLowerCase()) && seen.add(p.email.toLowerCase()));
}

export class EmailNotifier {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(private readonly settings: SmtpSettings, opts: { timeoutMs?: number } = {}) {
    const timeout = opts.timeoutMs ?? DEFAULT_EMAIL_TIMEOUT_MS;
    this.transport = createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.tls === 'implicit',
      requireTLS: settings.tls === 'starttls',
      ignoreTLS: settings.tls === 'none',
      ...(settings.user !== undefined ? { auth: { user: settings.user, pass: settings.password ?? '' } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  /** Sends one message; `id` (the alert's or digest's) makes its Message-ID and X-Schoolgate-Delivery. */
  async send(id: string, to: readonly Recipient[], message: RenderedMessage): Promise<EmailResult> {
    if (to.length === 0) throw new EmailError('no recipients: add the DSL under recipients.dsl in the safeguarding file');
    let info: SMTPTransport.SentMessageInfo;
    try {
      info = await this.transport.sendMail({
        from: this.settings.from,
        to: to.map((r) => ({ name: r.name, address: r.email })),
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: `<${id.replace(/[^A-Za-z0-9._-]/g, '_')}.schoolgate@${domainOf(this.settings.from)}>`,
        headers: { 'X-Schoolgate-Delivery': id },
      });
    } catch (err) {
      throw new EmailError(`e-mail through ${this.settings.host}:${this.settings.port} failed: ${(err as Error).message}`);
    }
    const address = (a: string | { address: string }): string => (typeof a === 'string' ? a : a.address);
    return { messageId: info.messageId, accepted: info.accepted.map(address), rejected: info.rejected.map(address) };
  }

  close(): void {
    this.transport.close();
  }
}

/** The domain of a From: address ("Schoolgate <sg@school.example>" → school.example), for Message-IDs. */
function domainOf(from: string): string {
  const m = /@([^\s>]+)>?\s*$/.exec(from);
  return m?.[1] ?? 'schoolgate.invalid';
}
