// Who hears about safeguarding alerts, and how: the DSL and deputies by e-mail (through the
// school's SMTP server) and any number of signed webhooks (a case-management system, a chat
// channel's bridge). Parsed from the `recipients:` and `email:` sections of the safeguarding file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Checker } from '../config/check.js';
import type { KeyPath } from '../config/yaml.js';

export interface Recipient {
  readonly name: string;
  readonly email: string;
}

export interface WebhookTarget {
  readonly url: string;
  /** The HMAC-SHA256 key the receiver checks X-Schoolgate-Signature with. */
  readonly secret: string;
}

export interface Recipients {
  readonly dsl: readonly Recipient[];
  readonly deputies: readonly Recipient[];
  readonly webhooks: readonly WebhookTarget[];
}

export type SmtpTls = 'implicit' | 'starttls' | 'none';

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** implicit: TLS from the first byte (port 465); starttls: upgrade, and refuse a server that cannot; none: plain (a relay on the same machine). */
  readonly tls: SmtpTls;
  readonly user?: string;
  readonly password?: string;
  /** The From: address, e.g. "Schoolgate <schoolgate@school.example>". */
  readonly from: string;
}

export const NO_RECIPIENTS: Recipients = Object.freeze({ dsl: [], deputies: [], webhooks: [] });

const EMAIL = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const MIN_SECRET = 16;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * Why no notification can reach anyone, or null when some channel can: e-mail needs both an
 * address (DSL or deputy) and an SMTP server; a webhook needs nothing else.
 */
export function nobodyToTell(recipients: Recipients, smtp: boolean): string | null {
  if (recipients.webhooks.length > 0) return null;
  const addresses = recipients.dsl.length + recipients.deputies.length;
  if (addresses > 0 && smtp) return null;
  if (addresses > 0) return 'the safeguarding file names people to e-mail (recipients:) but no SMTP server to send through (email:), and no webhook';
  if (smtp) return 'the safeguarding file has an SMTP server (email:) but names no DSL or deputy to e-mail (recipients:), and no webhook';
  return 'the safeguarding file names no DSL or deputy to e-mail and no webhook (recipients:)';
}

export function parseRecipients(check: Checker, value: unknown, dir: string): Recipients {
  if (value === undefined) return NO_RECIPIENTS;
  const root = check.object(['recipients'], value, ['dsl', 'deputies', 'webhooks']) ?? {};
  const people = (key: 'dsl' | 'deputies'): Recipient[] => {
    const out: Recipient[] = [];
    if (root[key] === undefined) return out;
    (check.array(['recipients', key], root[key]) ?? []).forEach((v, i) => {
      const at: KeyPath = ['recipients', key, i];
      const p = check.object(at, v, ['name', 'email']);
      if (!p) return;
      const name = check.string([...at, 'name'], p.name);
      const email = check.string([...at, 'email'], p.email, { pattern: EMAIL, patternHelp: 'write an e-mail address such as dsl@school.example' });
      if (name !== undefined && email !== undefined) out.push({ name, email });
    });
    return out;
  };
  const dsl = people('dsl');
  const deputies = people('deputies');
  const webhooks: WebhookTarget[] = [];
  if (root.webhooks !== undefined) {
    (check.array(['recipients', 'webhooks'], root.webhooks) ?? []).forEach((v, i) => {
      const at: KeyPath = ['recipients', 'webhooks', i];
      const w = check.object(at, v, ['url', 'secret', 'secretFile']);
      if (!w) return;
      const url = webhookUrl(check, [...at, 'url'], w.url);
      const secret = secretOf(check, at, w, dir);
      if (url !== undefined && secret !== undefined) webhooks.push({ url, secret });
    });
  }
  return { dsl, deputies, webhooks };
}

/** https://, or http:// to this machine only: an alert names a pupil and what they searched for. */
function webhookUrl(check: Checker, at: KeyPath, v: unknown): string | undefined {
  const u = check.url(at, v, 'https://cases.school.example/hooks/schoolgate');
  if (u === undefined) return undefined;
  if (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.test(u.hostname))) return u.href;
  return check.fail(at, `"${u.href}" must be an https:// address (http:// only to this machine)`, 'alerts name pupils: send them over https://');
}

function secretOf(check: Checker, at: KeyPath, w: Record<string, unknown>, dir: string): string | undefined {
  if ((w.secret === undefined) === (w.secretFile === undefined)) {
    return check.fail(at, 'a webhook needs "secret" or "secretFile" (one of them)', 'prefer secretFile: a file readable only by Schoolgate');
  }
  const secret = w.secret !== undefined ? check.string([...at, 'secret'], w.secret) : readSecretFile(check, [...at, 'secretFile'], w.secretFile, dir);
  if (secret !== undefined && secret.length < MIN_SECRET) {
    return check.fail([...at, w.secret !== undefined ? 'secret' : 'secretFile'], `the secret must be at least ${MIN_SECRET} characters`, 'generate one with: openssl rand -hex 32');
  }
  return secret;
}

export function parseEmail(check: Checker, value: unknown, dir: string): SmtpSettings | null {
  if (value === undefined) return null;
  const root = check.object(['email'], value, ['from', 'smtp']);
  if (!root) return null;
  const from = check.string(['email', 'from'], root.from);
  const smtp = check.object(['email', 'smtp'], root.smtp, ['host', 'port', 'tls', 'user', 'password', 'passwordFile']);
  if (!smtp) return null;
  const host = check.string(['email', 'smtp', 'host'], smtp.host);
  const tlsGiven = smtp.tls === undefined ? undefined : check.string(['email', 'smtp', 'tls'], smtp.tls, { oneOf: ['implicit', 'starttls', 'none'] }) as SmtpTls | undefined;
  const port = smtp.port === undefined ? (tlsGiven === 'implicit' ? 465 : 587) : check.number(['email', 'smtp', 'port'], smtp.port, { min: 1, max: 65535, integer: true });
  const tls = tlsGiven ?? (port === 465 ? 'implicit' : 'starttls');
  const user = smtp.user === undefined ? undefined : check.string(['email', 'smtp', 'user'], smtp.user);
  let password: string | undefined;
  if (smtp.password !== undefined && smtp.passwordFile !== undefined) check.fail(['email', 'smtp', 'passwordFile'], 'give "password" or "passwordFile", not both');
  else if (smtp.password !== undefined) password = check.string(['email', 'smtp', 'password'], smtp.password);
  else if (smtp.passwordFile !== undefined) password = readSecretFile(check, ['email', 'smtp', 'passwordFile'], smtp.passwordFile, dir);
  if ((smtp.user === undefined) !== (smtp.password === undefined && smtp.passwordFile === undefined)) {
    check.fail(['email', 'smtp'], 'give both "user" and "password" (or "passwordFile"), or neither');
  }
  if (from === undefined || host === undefined || port === undefined) return null;
  return { host, port, tls, from, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) };
}

/** A secret kept in its own file (readable only by Schoolgate), its surrounding whitespace dropped. */
function readSecretFile(check: Checker, at: KeyPath, v: unknown, dir: string): string | undefined {
  const file = check.string(at, v);
  if (file === undefined) return undefined;
  const path = resolve(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    return check.fail(at, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the path and that Schoolgate may read it');
  }
}
