// A proxy worker (proxy.workers above 1): forked by the primary `schoolgate start` (cli/workers.ts)
// with the same arguments, it loads the configuration and lists, builds its live snapshot, and
// serves the proxy port the primary shares with it. Its traffic rows go to the primary's one
// writer; its alerts go to a journal of its own (safe from a kill -9 the moment the response
// goes, replayed by the worker that replaces it) folded into the one data/alerts.db; what the
// proxy remembers is shared with the other workers through the primary.
import { keepParsedFiles } from '../config/kept.js';
import { phraseCacheDir } from '../classify/phrase-cache.js';
import { openAlertsDatabase } from '../alerts/db.js';
import { AlertJournal } from '../alerts/journal.js';
import { AlertRaiser } from '../alerts/raiser.js';
import { authenticatorFor } from '../identity/users-auth.js';
import { ListService } from '../lists/service.js';
import type { Logger } from '../log.js';
import { byName, proxyMemories } from '../proxy/cluster/memories.js';
import { WORKER_ENV, type WorkerPlace } from '../proxy/cluster/messages.js';
import { PrimaryLink } from '../proxy/cluster/primary-link.js';
import { applyState } from '../proxy/cluster/shared-memory.js';
import { WorkerTraffic } from '../proxy/cluster/worker-traffic.js';
import { createProxyServer } from '../proxy/server.js';
import { ConcernStore } from '../store/concerns.js';
import { openDatabase } from '../store/db.js';
import { UserStore } from '../store/users.js';
import { loadCa } from '../tls/ca.js';
import { paths } from './command.js';
import { openLive } from './live-parts.js';
import { serveProxy } from './proxy-part.js';
import type { StartValues } from './start.js';
import type { Stopping } from './stopping.js';

export async function runWorker(values: StartValues, parts: Stopping, baseLog: Logger): Promise<number> {
  const place = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerPlace;
  const log = baseLog.child({ worker: place.slot });
  const primary = new PrimaryLink();
  // Stopped by the primary, by a signal to this process (Ctrl-C reaches the whole group), or
  // when the primary is gone. SIGHUP is the primary's to handle: it passes reloads on.
  const stopped = new Promise<number>((resolve) => {
    const stop = (why: string): void => {
      log.info({ why }, 'proxy worker stopping');
      resolve(Date.now());
    };
    primary.once('stop', stop);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const ignoreHup = (): void => log.debug('SIGHUP is for the primary process, which passes reloads on');
  process.on('SIGHUP', ignoreHup);
  const { config, data } = paths(values);
  keepParsedFiles(phraseCacheDir(data));
  const ca = loadCa(data);
  // This worker's journal; at start its writer thread also stores what a killed worker left in
  // its own. Started first, so that the thread starts while the lists load; not waited for before
  // serving: an alert raised meanwhile is in the journal file when the response goes, and stored
  // once the writer has caught up.
  const journal = new AlertJournal({ dataDir: data, log, onNotify: () => primary.send({ type: 'alerts-notify' }) });
  parts.add({ name: 'alerts', finish: () => journal.close() });
  // The lists load (from the primary's table file, if it kept one; else in worker threads) while
  // the databases open here.
  const lists = ListService.start({ configFile: config, dataDir: data, log, ...(place.tables === undefined ? {} : { tablesFrom: place.tables }) });
  lists.catch(() => undefined); // awaited below, which throws what it failed with
  // The primary opened (and migrated) both databases before forking.
  const db = openDatabase(data);
  parts.add({ name: 'database', finish: () => void db.close() });
  const alertsDb = openAlertsDatabase(data);
  parts.add({ name: 'alerts database', finish: () => void alertsDb.close() });
  const service = await lists;
  if (place.tables !== undefined) primary.send({ type: 'tables-read', file: place.tables });
  const { live } = openLive({ service, db, alertsDb, data, ca, log, parts });
  const users = new UserStore(db, { groups: () => new Set(service.config.policy.groups.keys()) });
  const memories = proxyMemories(authenticatorFor(users), () => live.current.config.tls.pinning);

  const start = await primary.hello();
  const shared = byName(memories);
  applyState(shared, start.memories);
  for (const [name, memory] of Object.entries(shared)) memory.onChange((change) => primary.send({ type: 'memory', name, change }));
  primary.on('memory', (name, change) => shared[name]?.apply(change));
  const traffic = new WorkerTraffic((rows) => primary.send({ type: 'traffic', rows }), { lastId: start.lastTrafficId, slot: place.slot, of: place.of });
  // Finished after the proxy (parts finish in reverse): every row of a request that ends while stopping is sent.
  parts.add({ name: 'traffic log', finish: () => traffic.flush() });
  const proxy = createProxyServer({
    source: live, log, auth: memories.auth, concerns: new ConcernStore(db), traffic,
    alerts: new AlertRaiser(journal, () => service.config), memories,
  });
  const wanted = { what: 'proxy', addresses: place.addresses, port: place.port, setting: 'proxy.port', flag: '--port' };
  const port = await serveProxy(proxy, place.addresses, wanted, parts);
  primary.on('reload', (reason, tables) => void service.reload(reason, tables).then(() => {
    if (tables !== undefined) primary.send({ type: 'tables-read', file: tables });
  }));
  primary.on('forget-sign-ins', () => memories.auth.forget());
  // Said once the journal's writer has started too: a worker whose writer cannot start stops
  // before it counts as serving (a start fails; a replacement is tried again after a pause).
  await journal.ready;
  primary.send({ type: 'serving', port });

  const signalledAt = await stopped;
  process.off('SIGHUP', ignoreHup);
  await parts.stop(signalledAt);
  // Last: the primary has every row this worker recorded when it hears this.
  await primary.last({ type: 'stopped' });
  primary.disconnect();
  log.info({ ms: Date.now() - signalledAt }, 'proxy worker stopped');
  return 0;
}
