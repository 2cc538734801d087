// schoolgate digest [--send-now [--period daily|weekly]]: when the digests go, and a digest sent
// now, delivered by this process (e-mail to the DSL and deputies, and every webhook).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ALERTS_FILE, openAlertsDatabase } from '../alerts/db.js';
import { addDigestRow, DIGEST_PERIODS, nextRun, type DigestPeriod } from '../alerts/digests.js';
import { nobodyToTell } from '../alerts/recipients.js';
import { renderContext, timeFormat } from '../alerts/render.js';
import { AlertStore } from '../alerts/store.js';
import { loadCommandConfig } from './config.js';
import { SchoolClock } from '../policy/time.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const OPTIONS = { ...COMMON_OPTIONS, 'send-now': { type: 'boolean' }, period: { type: 'string' } } as const;
const spec = {
  name: 'digest',
  summary: 'when the safeguarding digests go, or send one now',
  usage: 'digest [--send-now [--period daily|weekly]] [--config FILE] [--data DIR]',
  details: [
    'Without --send-now: the digest times (digests: in the safeguarding file) and the next of each.',
    '',
    '--send-now writes the digest for the period ending now to the outbox and delivers it from this',
    'process: the daily one (the default) covers everything since the previous daily digest, the',
    'weekly one the last seven days. A digest with nothing new says so. Exit 0 when every channel',
    'took it; 1 with the reason when one did not (it stays in the outbox, and a running Schoolgate',
    'retries it) or when there is nobody to send it to.',
  ].join('\n'),
  options: OPTIONS,
  help: { ...COMMON_HELP, 'send-now': 'send a digest now', period: 'with --send-now: daily (default) or weekly' },
} as const satisfies CommandSpec<typeof OPTIONS>;

export async function digestCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const period = (values.period ?? 'daily') as DigestPeriod;
  if (!DIGEST_PERIODS.includes(period)) throw new UsageError(`--period: "${values.period}" is not daily or weekly`);
  if (values.period !== undefined && !values['send-now']) throw new UsageError('--period goes with --send-now');
  const { config, data } = paths(values);
  const cfg = loadCommandConfig(config, data);
  const clock = new SchoolClock(cfg.school.timezone);
  const time = timeFormat(cfg.school.timezone);
  const sg = cfg.safeguarding;
  if (!values['send-now']) {
    for (const p of DIGEST_PERIODS) {
      const t = sg.digests[p];
      io.out(`${p.padEnd(7)} ${t === null ? 'off' : `${t.text}, next ${time(nextRun(t, clock, Date.now()))} (${clock.timeZone})`}`);
    }
    const nobody = nobodyToTell(sg.recipients, sg.email !== null);
    if (nobody !== null) io.err(`warning: nobody will receive them: ${nobody} (${sg.file ?? 'built in'})`);
    return 0;
  }

  // Sending (nodemailer, undici) is loaded only to send.
  const [{ deliverOutbox, DeliveryError }, { emailRecipients, EmailNotifier }] = await Promise.all([import('../alerts/deliver.js'), import('../alerts/notify-email.js')]);
  const email = sg.email && emailRecipients(sg.recipients).length > 0 ? new EmailNotifier(sg.email) : null;
  if (email === null && sg.recipients.webhooks.length === 0) {
    io.err(`schoolgate digest: nobody to send it to: the safeguarding file (${sg.file ?? 'built in'}) has no e-mail recipients with an SMTP server, and no webhooks`);
    return 1;
  }
  const file = join(data, ALERTS_FILE);
  if (!existsSync(file)) throw new UsageError(`no alerts database at ${file}: is --data right?`);
  const db = openAlertsDatabase(data);
  try {
    const store = new AlertStore(db);
    const now = Date.now();
    const id = addDigestRow({ db, store }, period, clock, now, now);
    if (id === null) throw new Error('a digest reaching this moment is already in the outbox');
    const { from, to } = JSON.parse(store.outbox(id)!.payload!) as { from: number; to: number };
    const range = `${time(from)} to ${time(to)}`;
    try {
      await deliverOutbox({ store, config: () => sg, context: () => renderContext(cfg), email: () => email }, id);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      store.failedAttempt(id, err.message, Date.now(), false);
      io.err(`schoolgate digest: the ${period} digest (${range}) was not delivered: ${err.message}. It stays in the outbox (notification ${id}): a running Schoolgate retries it.`);
      return 1;
    }
    const channels = store.deliveries(id).map((d) => (d.channel === 'email' ? 'e-mail' : `webhook ${new URL(d.channel.slice('webhook:'.length)).host}`));
    io.out(`${period} digest delivered (${range}): ${channels.join(', ')}`);
    return 0;
  } finally {
    email?.close();
    db.close();
  }
}
