// Real receivers on loopback for alert deliveries: an SMTP server that keeps every message,
// and a webhook endpoint that checks the HMAC signature and can be told to fail.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { verifySignature } from '../../src/alerts/notify-webhook.js';

export interface SmtpReceiver {
  readonly port: number;
  readonly received: ParsedMail[];
  close(): Promise<void>;
}

export async function smtpReceiver(): Promise<SmtpReceiver> {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _session, done) {
      simpleParser(stream).then((mail) => {
        received.push(mail);
        done();
      }, done);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.server.address() as AddressInfo).port, received, close: () => new Promise((r) => server.close(() => r())) };
}

export interface WebhookCall {
  readonly delivery: string;
  readonly signed: boolean;
  readonly body: Record<string, unknown>;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly calls: WebhookCall[];
  /** Answer the next `n` calls with 500 (counted in `refused`, not in `calls`). */
  failNext(n: number): void;
  readonly refused: { count: number };
  /** Never answer the next `n` calls (kept in `held`, not in `calls`): the sender is left waiting. */
  holdNext(n: number): void;
  readonly held: WebhookCall[];
  close(): Promise<void>;
}

export async function webhookReceiver(secret: string): Promise<WebhookReceiver> {
  const calls: WebhookCall[] = [];
  const refused = { count: 0 };
  const held: WebhookCall[] = [];
  let failing = 0;
  let holding = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing > 0) {
        failing--;
        refused.count++;
        res.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const call = { delivery: String(req.headers['x-schoolgate-delivery']), signed: verifySignature(raw, secret, req.headers['x-schoolgate-signature'] as string | undefined), body: JSON.parse(raw.toString('utf8')) as Record<string, unknown> };
      if (holding > 0) {
        holding--;
        held.push(call);
        return;
      }
      calls.push(call);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`, calls, refused, failNext: (n) => { failing = n; }, held, holdNext: (n) => { holding = n; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * The shipped safeguarding file with these recipients and mail server (also the soak benchmark's,
 * bench/soak.ts, with names of its own).
 */
export function safeguardingWith(shipped: string, smtpPort: number, webhookUrl: string, secret: string, names = { dsl: 'Jane Smith', deputy: 'Sam Jones' }): string {
  const head = shipped.slice(0, shipped.indexOf('\nrecipients:'));
  return `${head}
recipients:
  dsl:
    - { name: ${names.dsl}, email: dsl@school.example }
  deputies:
    - { name: ${names.deputy}, email: deputy@school.example }
  webhooks:
    - { url: "${webhookUrl}", secret: "${secret}" }
email:
  from: Schoolgate <schoolgate@school.example>
  smtp: { host: 127.0.0.1, port: ${smtpPort}, tls: none }
`;
}
