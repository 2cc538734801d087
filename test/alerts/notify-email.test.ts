// The e-mail notifier against a real SMTP server (smtp-server) on loopback; messages are read
// back with mailparser.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { EmailError, EmailNotifier, emailRecipients } from '../../src/alerts/notify-email.js';
import type { SmtpSettings } from '../../src/alerts/recipients.js';
import { renderAlert, type AlertNotice } from '../../src/alerts/render.js';

interface Received {
  readonly from: string;
  readonly to: string[];
  readonly user: string | undefined;
  readonly mail: ParsedMail;
}

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A plain-text SMTP server (no TLS) on 127.0.0.1 that keeps every message it accepts. */
async function smtpServer(opts: Partial<SMTPServerOptions> = {}): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      simpleParser(stream).then((mail) => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          mail,
        });
        done();
      }, done);
    },
    ...opts,
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.server.address() as AddressInfo).port, received };
}

const settings = (port: number, over: Partial<SmtpSettings> = {}): SmtpSettings => ({ host: '127.0.0.1', port, tls: 'none', from: 'Schoolgate <schoolgate@school.example>', ...over });
const DSL = { name: 'Jane Smith', email: 'dsl@school.example' };
const DEPUTY = { name: 'Sam Jones', email: 'deputy@school.example' };
const CTX = { schoolName: 'Example Primary School', timeZone: 'Europe/London', staffAppUrl: 'https://staff.school.example' };
const NOTICE: AlertNotice = {
  id: 'a-42', label: 'Suicide', category: 'suicide', severity: 'danger', illegal: false, count: 1,
  firstSeen: Date.parse('2026-11-16T10:00:00Z'), lastSeen: Date.parse('2026-11-16T10:00:00Z'), actions: ['allow'],
  triggers: [{ kind: 'phrase', severity: 'danger', source: 'search', category: 'suicide', phrase: 'kill myself', weight: 10, text: 'how to kill myself <now>' }],
  moreTriggers: 0, searchTerm: 'how to kill myself <now>', url: 'https://www.google.com/search?q=how+to+kill+myself', user: 'amy', client: '10.1.2.5', group: 'ks2',
};

describe('the e-mail notifier', () => {
  it('sends the alert to the DSL and the deputies, as text and HTML, with a Message-ID from the alert id', async () => {
    const { port, received } = await smtpServer();
    const notifier = new EmailNotifier(settings(port));
    const message = renderAlert(NOTICE, CTX);
    const result = await notifier.send('a-42', [DSL, DEPUTY], message);
    notifier.close();
    expect(result.accepted).toEqual(['dsl@school.example', 'deputy@school.example']);
    expect(result.rejected).toEqual([]);
    expect(result.messageId).toBe('<a-42.schoolgate@school.example>');
    expect(received).toHaveLength(1);
    const { from, to, mail } = received[0]!;
    expect(from).toBe('schoolgate@school.example');
    expect(to).toEqual(['dsl@school.example', 'deputy@school.example']);
    expect(mail.subject).toBe('[Example Primary School] Safeguarding alert, danger: Suicide');
    expect(mail.messageId).toBe('<a-42.schoolgate@school.example>');
    expect(mail.headers.get('x-schoolgate-delivery')).toBe('a-42');
    expect(mail.text).toBe(message.text);
    expect(mail.html).toContain('how to kill myself &lt;now&gt;');
    expect(mail.html).toContain('<a href="https://staff.school.example/alerts/a-42">');
    expect((Array.isArray(mail.to) ? mail.to[0] : mail.to)!.value.map((a) => a.name)).toEqual(['Jane Smith', 'Sam Jones']);
  });

  it('signs in when a user is configured', async () => {
    const { port, received } = await smtpServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, done) {
        if (auth.username === 'schoolgate' && auth.password === 'correct horse') done(null, { user: auth.username });
        else done(new Error('Invalid username or password'));
      },
    });
    const good = new EmailNotifier(settings(port, { user: 'schoolgate', password: 'correct horse' }));
    await good.send('a-1', [DSL], renderAlert(NOTICE, CTX));
    good.close();
    expect(received.map((r) => r.user)).toEqual(['schoolgate']);
    const bad = new EmailNotifier(settings(port, { user: 'schoolgate', password: 'wrong' }));
    await expect(bad.send('a-2', [DSL], renderAlert(NOTICE, CTX))).rejects.toThrow(EmailError);
    bad.close();
    expect(received).toHaveLength(1);
  });

  it('refuses to send in clear text when STARTTLS is required and the server cannot', async () => {
    const { port, received } = await smtpServer();
    const notifier = new EmailNotifier(settings(port, { tls: 'starttls' }));
    await expect(notifier.send('a-3', [DSL], renderAlert(NOTICE, CTX))).rejects.toThrow(/e-mail through 127\.0\.0\.1:\d+ failed/);
    notifier.close();
    expect(received).toEqual([]);
  });

  it('reports refused recipients, and fails when every one is refused', async () => {
    const { port, received } = await smtpServer({
      onRcptTo(address, _session, done) {
        done(address.address.startsWith('gone') ? new Error('No such user') : undefined);
      },
    });
    const notifier = new EmailNotifier(settings(port));
    const r = await notifier.send('a-4', [DSL, { name: 'Gone', email: 'gone@school.example' }], renderAlert(NOTICE, CTX));
    expect([r.accepted, r.rejected]).toEqual([['dsl@school.example'], ['gone@school.example']]);
    await expect(notifier.send('a-5', [{ name: 'Gone', email: 'gone@school.example' }], renderAlert(NOTICE, CTX))).rejects.toThrow(EmailError);
    notifier.close();
    expect(received.map((m) => m.to)).toEqual([['dsl@school.example']]);
  });

  it('fails, for the caller to retry, when the server cannot be reached or there is nobody to send to', async () => {
    const { port } = await smtpServer();
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const notifier = new EmailNotifier(settings(port), { timeoutMs: 2000 });
    await expect(notifier.send('a-6', [DSL], renderAlert(NOTICE, CTX))).rejects.toThrow(EmailError);
    await expect(notifier.send('a-7', [], renderAlert(NOTICE, CTX))).rejects.toThrow(/no recipients/);
    notifier.close();
  });

  it('sends to the DSL first, then deputies, each address once', () => {
    expect(emailRecipients({ dsl: [DSL], deputies: [DEPUTY, { name: 'Jane again', email: 'DSL@school.example' }], webhooks: [] })).toEqual([DSL, DEPUTY]);
  });
});
