// schoolgate start: runs Schoolgate in the foreground: the list service (lists loaded off the
// event loop, refreshed on their schedules, reloaded on SIGHUP) and the proxy listener.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListService } from '../lists/service.js';
import { startUpdateSchedule } from '../lists/scheduled-updates.js';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../log.js';
import { authenticatorFor } from '../identity/users-auth.js';
import { createProxyServer } from '../proxy/server.js';
import { buildAdminApp } from '../admin/app.js';
import { adminTlsOptions } from '../admin/tls.js';
import { mailer } from '../admin/mail.js';
import { configApplier } from '../admin/policy-edit.js';
import { LivePolicy } from '../store/live-policy.js';
import { SessionStore } from '../store/sessions.js';
import { UnblockStore } from '../store/unblocks.js';
import { loadCa } from '../tls/ca.js';
import { interceptionFor } from '../tls/interception.js';
import type { SchoolgateConfig } from '../config/load.js';
import { processActor } from '../store/audit.js';
import { openDatabase } from '../store/db.js';
import { recordPolicyVersion } from '../store/policy-versions.js';
import { DigestScheduler } from '../alerts/digests.js';
import { AlertService } from '../alerts/service.js';
import { ConcernStore } from '../store/concerns.js';
import { TrafficLog } from '../store/traffic-log.js';
import { UserStore } from '../store/users.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'start',
  summary: 'run Schoolgate in the foreground',
  usage: 'start [--port N] [--admin-port N] [--config FILE] [--data DIR]',
  details: 'Loads the configuration and every list (off the event loop), listens as an HTTP(S) proxy\n(port 3128 unless proxy.port or --port says otherwise), refreshes downloaded lists on their\nschedules, sends the safeguarding digests at their times, reloads configuration and lists on\nSIGHUP ("schoolgate lists reload"), and stops on SIGTERM or Ctrl-C, draining requests in flight\nfor up to 10 s. Logs are JSON lines on standard output.',
  options: { ...COMMON_OPTIONS, port: { type: 'string', short: 'p' }, 'admin-port': { type: 'string' } },
  help: { ...COMMON_HELP, port: 'port to listen on (default: proxy.port in the config, 3128)', 'admin-port': 'port of the staff web app (default: admin.port in the config, 8081)' },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS & { port: { type: 'string'; short: 'p' }; 'admin-port': { type: 'string' } }>;

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const { config, data } = paths(values);
  const log = createLogger();
  mkdirSync(data, { recursive: true, mode: 0o700 });
  // The CA is checked before anything starts: a damaged or exposed key stops here with its fix.
  const ca = loadCa(data);
  const service = await ListService.start({ configFile: config, dataDir: data, log });
  const pidFile = join(data, 'schoolgate.pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  const schedule = await startUpdateSchedule(service, { dataDir: data, log });
  const port = values.port === undefined ? service.config.proxy.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${values.port}" is not a port number`);
  const db = openDatabase(data);
  // Each configuration run with is kept (policy_versions) and its change audited, at start and on reload.
  const actor = processActor();
  const recordPolicy = (cfg: SchoolgateConfig): void => {
    const version = recordPolicyVersion(db, { file: cfg.file, text: cfg.text, actor });
    if (version.changed) log.info({ sha256: version.sha256, previous: version.previous }, 'configuration changed: version recorded in the audit log');
  };
  recordPolicy(service.config);
  service.onReload(recordPolicy);
  const users = new UserStore(db, { groups: () => new Set(service.config.policy.groups.keys()) });
  const auth = authenticatorFor(users);
  // The traffic log's writer thread replays rows an earlier run left in spill files before it starts.
  const traffic = await TrafficLog.open({ dataDir: data, timeZone: service.config.school.timezone, config: service.config.log, retention: service.config.retention, log });
  // Alerts: data/alerts.db, delivered by BullMQ when redis is configured, else in this process.
  const alerts = await AlertService.start({ dataDir: data, config: () => service.config, log });
  // The daily and weekly digests, at the safeguarding file's times (a run missed while stopped goes now).
  const digests = new DigestScheduler(alerts, { config: () => service.config, log });
  digests.start();
  // HTTPS inspection once the school's CA exists (schoolgate ca init); a CA rotated while running takes effect on restart.
  const interception = ca ? interceptionFor(ca, { validityDays: service.config.tls.certificateDays, log }) : null;
  if (interception) log.info({ root: interception.fingerprint, groups: [...service.config.tls.intercept.keys()] }, 'HTTPS inspection on');
  else log.info('HTTPS inspection off: no school CA yet (npx schoolgate ca init); HTTPS is filtered by site name');
  // Approved unblocks laid over the policy the proxy reads; rebuilt when one changes, on reload, and each minute.
  const unblocks = new UnblockStore(db);
  const live = new LivePolicy(service, unblocks, { log });
  service.onReload(() => live.refresh());
  live.start();
  const { server, destroyTunnels } = createProxyServer({ source: live, log, auth, concerns: new ConcernStore(db), traffic, alerts, ...(interception ? { tls: interception } : {}) });
  // The staff web app, on its own port, in this process; over HTTPS with the school's CA when asked.
  const adminTls = service.config.admin.https && interception ? await adminTlsOptions(interception, service.config.school.staffAppUrl) : null;
  if (service.config.admin.https && !interception) log.warn('admin.https is on but there is no school CA yet (npx schoolgate ca init): the staff app speaks plain HTTP');
  const admin = buildAdminApp({
    db, users, sessions: new SessionStore(db, { lifetimeMs: service.config.admin.sessionMs }), unblocks, source: live, log,
    unblocksChanged: () => live.refresh(),
    applyConfig: configApplier(service, db),
    mail: mailer(() => service.config),
    ...(adminTls ? { https: adminTls, secureCookies: true } : {}),
  });
  const adminPort = values['admin-port'] === undefined ? service.config.admin.port : Number(values['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) throw new UsageError(`--admin-port: "${values['admin-port']}" is not a port number`);
  await admin.listen({ port: adminPort, host: service.config.admin.host });
  log.info({ port: (admin.server.address() as AddressInfo).port, host: service.config.admin.host }, 'staff app listening');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, service.config.proxy.host, resolve);
  });
  // Signal handlers go in before "running" is logged: whoever waits for that line may signal
  // at once, and a signal with no handler yet would kill the process outright.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const address = server.address() as AddressInfo;
  log.info({ pid: process.pid, config, data, host: address.address, port: address.port }, 'Schoolgate is running');

  // A reload also forgets remembered sign-ins, so a disabled user or a changed password counts.
  const onHup = (): void => {
    auth.forget();
    void service.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  await stopped;
  process.off('SIGHUP', onHup);
  // Refuse new connections, let requests in flight finish, and cut what is left after 10 s.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drain = setTimeout(() => {
    server.closeAllConnections();
    destroyTunnels();
  }, 10_000);
  await closed;
  destroyTunnels();
  live.stop();
  await admin.close();
  clearTimeout(drain);
  await schedule.stop();
  // Every recorded row is stored, or kept in a spill file for the next start.
  await traffic.close();
  digests.stop();
  await alerts.close();
  db.close();
  rmSync(pidFile, { force: true });
  return 0;
}
