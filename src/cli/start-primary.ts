// schoolgate start's primary process: the configuration, the databases, the traffic log's one
// writer, alerts, the list service (lists loaded off the event loop, refreshed on their schedules,
// reloaded on SIGHUP), the staff app, and the proxy listener here or (proxy.workers above 1) in
// the worker processes it forks (cli/workers.ts, cli/start-worker.ts).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { keepParsedFiles } from '../config/kept.js';
import { phraseCacheDir } from '../classify/phrase-cache.js';
import { builtKept } from '../lists/load.js';
import { ListService } from '../lists/service.js';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { authenticatorFor } from '../identity/users-auth.js';
import { loadCa } from '../tls/ca.js';
import { checkPorts, ListenError } from '../proxy/listen.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';
import { processActor } from '../store/audit.js';
import { openDatabase } from '../store/db.js';
import { recordPolicyVersion } from '../store/policy-versions.js';
import { openAlertsDatabase } from '../alerts/db.js';
import { TrafficLog } from '../store/traffic-log.js';
import { UserStore } from '../store/users.js';
import { paths, UsageError } from './command.js';
import { serveProxy } from './proxy-part.js';
import type { AlertService } from '../alerts/service.js';
import type { LiveParts } from './live-parts.js';
import { pidFile, settlesBy, type Stopping } from './stopping.js';
import { primaryMemories, ProxyWorkers } from './workers.js';
import type { StartValues } from './start.js';

export async function runPrimary(values: StartValues, parts: Stopping, log: Logger): Promise<number> {
  const { config, data } = paths(values);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  // Parsed phrase and YAML files are kept beside the compiled rules, so a restart reads neither again.
  keepParsedFiles(phraseCacheDir(data));
  // The CA is checked before anything starts: a damaged or exposed key stops here with its fix.
  const ca = loadCa(data);
  // The configuration alone first: the ports, the databases, the traffic log, alerts and the
  // proxy workers need nothing more, so they are ready before, or while, the lists load.
  const cfg = loadConfig(config);
  const port = values.port === undefined ? cfg.proxy.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${values.port}" is not a port number`);
  const adminPort = values['admin-port'] === undefined ? cfg.admin.port : Number(values['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) throw new UsageError(`--admin-port: "${values['admin-port']}" is not a port number`);
  // Every port is checked before anything is served: one in use stops the start here, saying
  // which setting or flag to change, with nothing left listening.
  const proxyWanted = { what: 'proxy', addresses: cfg.proxy.listen, port, setting: 'proxy.port', flag: '--port' };
  const adminWanted = { what: 'staff app', addresses: [cfg.admin.host], port: adminPort, setting: 'admin.port', flag: '--admin-port' };
  const [proxyAddresses, adminAddresses] = await checkPorts([proxyWanted, adminWanted], log);
  const workerCount = cfg.proxy.workers;
  // With proxy.workers above 1 a reload's lists are built once for all: each build's table file
  // is kept for the workers to read (as the start's configuration says, and from then on as it ran).
  const deps = { configFile: config, dataDir: data, log, keepTables: (): boolean => workerCount > 1 };
  // With one process the proxy needs the lists: they load in worker threads while the databases,
  // the traffic log and alerts open here. So do proxy workers when the phrase rules or the lists'
  // tables are not kept built yet (a first start, an upgrade, a changed phrase or list file):
  // built here, once, they are read back by every worker, rather than built by each at once.
  const listsFirst = workerCount === 1 || !builtKept(cfg, data);
  const lists = listsFirst ? ListService.start(deps, cfg) : null;
  lists?.catch(() => undefined); // awaited below, which throws what it failed with
  let loaded: ListService | null = null;
  /** The configuration in force: the one loaded here until the list service holds it (and reloads it). */
  const current = (): SchoolgateConfig => loaded?.config ?? cfg;
  const db = openDatabase(data);
  parts.add({ name: 'database', finish: () => void db.close() });
  // Each configuration run with is kept (policy_versions) and its change audited, at start and on reload.
  const actor = processActor();
  const recordPolicy = (c: SchoolgateConfig): void => {
    const version = recordPolicyVersion(db, { file: c.file, text: c.text, actor });
    // The first configuration a school runs with is its first version, not a change.
    if (version.changed) log.info({ sha256: version.sha256, previous: version.previous }, version.previous === null ? 'configuration: first version recorded in the audit log' : 'configuration changed: version recorded in the audit log');
  };
  recordPolicy(cfg);
  const users = new UserStore(db, { groups: () => new Set(current().policy.groups.keys()) });
  const auth = authenticatorFor(users);
  // Signal handlers go in before the proxy serves (the staff app is built after it), the pid
  // file is written and "running" is logged: whoever sees any of them may signal at once, and a
  // signal with no handler yet would kill the process outright, losing what was recorded.
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve(Date.now());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // data/alerts.db is opened (and migrated) here, before any proxy worker opens it.
  const alertsDb = openAlertsDatabase(data);
  // What this process runs besides the proxy (alerts, the live policy, list schedules, digests):
  // with proxy workers, loaded once they serve, so that neither the loading nor what it starts
  // takes a core from them while they start.
  const loadRest = (): Promise<[typeof import('../alerts/service.js'), typeof import('./live-parts.js'), typeof import('../lists/scheduled-updates.js'), typeof import('../alerts/digests.js'), typeof import('../alerts/nobody.js')]> =>
    Promise.all([import('../alerts/service.js'), import('./live-parts.js'), import('../lists/scheduled-updates.js'), import('../alerts/digests.js'), import('../alerts/nobody.js')]);
  // Alerts: data/alerts.db, delivered by BullMQ when redis is configured, else in this process.
  // A proxy worker's alerts are stored by its own journal meanwhile; it tells this process only
  // to deliver them, which waits until the service has started.
  let alertsStarting: Promise<AlertService> | null = null;
  const startAlerts = (rest: Promise<Awaited<ReturnType<typeof loadRest>>>): Promise<AlertService> => {
    alertsStarting = rest.then(([{ AlertService }]) => AlertService.start({ dataDir: data, config: current, log }, alertsDb));
    alertsStarting.catch(() => undefined); // awaited below, which throws what it failed with
    return alertsStarting;
  };
  // The traffic log's writer thread replays rows an earlier run left in spill files before it
  // starts. It opens while the proxy workers start: a worker needs it only once its lists are
  // loaded, to be told where its traffic ids go on from.
  const trafficOpening = TrafficLog.open({ dataDir: data, timeZone: cfg.school.timezone, config: cfg.log, retention: cfg.retention, log });
  trafficOpening.catch(() => undefined); // awaited below, which throws what it failed with
  // When stopping, every recorded row is stored, or kept in a spill file for the next start.
  parts.add({ name: 'traffic log', finish: async () => (await trafficOpening.catch(() => null))?.close() });
  // Notifications being sent when stopping may finish until the cut; the rest wait in the outbox for the next start.
  parts.add({ name: 'alerts', finish: async (cutAt) => (await alertsStarting?.catch(() => null))?.close({ graceMs: Math.max(0, cutAt - Date.now()) }) });
  // The proxy: here (proxy.workers 1), or in worker processes sharing the port, with what must
  // be one per machine (the traffic writer, alert delivery, the staff app, list updates) kept here.
  let workers: ProxyWorkers | null = null;
  let liveParts: LiveParts | null = null;
  let listening = 0;
  let rest: Promise<Awaited<ReturnType<typeof loadRest>>>;
  if (workerCount > 1) {
    const first = lists === null ? null : await lists;
    let alertsStarted = (_: Promise<AlertService>): void => undefined;
    workers = new ProxyWorkers({
      count: workerCount, addresses: proxyAddresses!, port, log, traffic: trafficOpening, alerts: new Promise((resolve) => (alertsStarted = resolve)),
      memories: primaryMemories(auth, () => (liveParts?.live.current.config ?? cfg).tls.pinning),
      tables: first === null ? null : first.takeTables(),
    });
    // Added after the traffic log and alerts, so stopped before them: what the workers send last is stored.
    parts.add(workers.part());
    // The workers load their own lists and serve; on a restart this process loads its lists (for
    // the staff app and reloads) only then, rather than take the cores from them while they start.
    [listening] = await Promise.all([workers.start(), trafficOpening]);
    rest = loadRest();
    alertsStarted(startAlerts(rest));
  } else {
    rest = loadRest();
    startAlerts(rest);
  }
  const [[, { openLive }, { startUpdateSchedule }, { DigestScheduler }, { watchRecipients }], traffic, alerts] = await Promise.all([rest, trafficOpening, alertsStarting!]);
  const service = await (lists ?? ListService.start(deps, cfg));
  loaded = service;
  // Loaded after the workers (a restart), its tables are this process's alone: the workers have theirs.
  const unshared = service.takeTables();
  if (unshared !== null) rmSync(unshared, { force: true });
  // Every reload here (SIGHUP, a list update, a change from the staff app) is made in each worker too.
  if (workers !== null) service.onReload(() => workers!.reload(service.takeTables()));
  const schedule = await startUpdateSchedule(service, { dataDir: data, log });
  // A list download under way when stopping may finish until the cut.
  let scheduleStopped: Promise<void> = Promise.resolve();
  parts.add({ name: 'list schedules', begin: () => void (scheduleStopped = schedule.stop()), finish: (cutAt) => settlesBy(scheduleStopped, cutAt) });
  service.onReload(recordPolicy);
  watchRecipients(alerts, service, log); // warns at every start and reload while nobody would be told
  liveParts = openLive({ service, db, alertsDb: alerts.db, data, ca, log, parts });
  const { live, inspection, unblocks } = liveParts;
  // The daily and weekly digests, at the safeguarding file's times (a run missed while stopped goes now).
  const digests = new DigestScheduler(alerts, { config: current, log });
  digests.start();
  parts.add({ name: 'digests', begin: () => digests.stop() });
  const interception = inspection.current;
  if (workers === null) {
    // Loaded only here: proxy workers have their own (cli/start-worker.ts).
    const [{ createProxyServer }, { ConcernStore }] = await Promise.all([import('../proxy/server.js'), import('../store/concerns.js')]);
    const proxy = createProxyServer({ source: live, log, auth, concerns: new ConcernStore(db), traffic, alerts });
    listening = await serveProxy(proxy, proxyAddresses!, proxyWanted, parts);
  }
  // The staff web app, on its own port, in this process; over HTTPS with the school's CA when asked.
  // It is loaded and built once the proxy serves: Fastify, its schema compiler and the app's
  // routes took about a second of a start's main thread, and browsing need not wait for them.
  const [{ buildAdminApp }, { adminTlsOptions }, { mailer }, { configApplier }, { SessionStore }] = await Promise.all([
    import('../admin/app.js'), import('../admin/tls.js'), import('../admin/mail.js'), import('../admin/policy-edit.js'), import('../store/sessions.js'),
  ]);
  const adminTls = service.config.admin.https && interception ? await adminTlsOptions(interception, service.config.school.staffAppUrl) : null;
  if (service.config.admin.https && !interception) log.warn('admin.https is on but there is no school CA yet (npx schoolgate ca init): the staff app speaks plain HTTP');
  const admin = buildAdminApp({
    db, users, sessions: new SessionStore(db, { lifetimeMs: service.config.admin.sessionMs }), unblocks, source: live, log,
    unblocksChanged: () => live.refresh('an unblock changed'),
    applyConfig: configApplier(service, db),
    mail: mailer(() => service.config),
    ...(adminTls ? { https: adminTls, secureCookies: true } : {}),
  });
  let adminClosed: Promise<void> = Promise.resolve();
  parts.add({
    name: 'staff app', begin: () => void (adminClosed = admin.close()),
    finish: async (cutAt) => {
      if (!await settlesBy(adminClosed, cutAt)) admin.server.closeAllConnections();
      await adminClosed;
    },
  });
  await admin.listen({ port: adminPort, host: adminAddresses![0]!, ipv6Only: false }).catch((err: NodeJS.ErrnoException) => {
    throw new ListenError(`the staff app cannot listen on port ${adminPort} (${err.code ?? err.message}): choose another with admin.port or --admin-port N`);
  });
  log.info({ port: (admin.server.address() as AddressInfo).port, host: adminAddresses![0] }, 'staff app listening');
  // A reload also forgets remembered sign-ins, so a disabled user or a changed password counts.
  const onHup = (): void => {
    auth.forget();
    workers?.forgetSignIns();
    void service.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  // Written once running, so a second Schoolgate that fails to start leaves this one's file alone.
  const pid = pidFile(join(data, 'schoolgate.pid'));
  log.info({ pid: process.pid, config, data, addresses: proxyAddresses, port: listening, workers: workerCount }, 'Schoolgate is running');

  const signalledAt = await stopped;
  process.off('SIGHUP', onHup);
  await parts.stop(signalledAt);
  pid.remove();
  log.info({ ms: Date.now() - signalledAt }, 'stopped');
  return 0;
}
