// What every process that serves or shows the policy builds from the running configuration: the
// DSL's phrases swapped in, HTTPS inspection, and the live snapshot (the configuration with the
// approved unblocks and the exclusions laid over it), kept up to date by the commit watch. The
// primary builds it for the staff app (and the proxy, with one process); each proxy worker
// (proxy.workers) builds its own, so an unblock or an exclusion committed anywhere reaches every
// process within the commit watch's tenth of a second.
import type { ListService } from '../lists/service.js';
import { LivePhrases } from '../lists/live-phrases.js';
import type { Logger } from '../log.js';
import { LiveSnapshot } from '../proxy/live-snapshot.js';
import { readStoredExclusions } from '../alerts/exclusions.js';
import { CommitWatch } from '../store/commit-watch.js';
import type { Database } from '../store/db.js';
import { UnblockStore } from '../store/unblocks.js';
import type { SchoolCa } from '../tls/ca.js';
import { LiveInterception } from '../tls/interception.js';
import type { Stopping } from './stopping.js';

export interface LiveParts {
  readonly live: LiveSnapshot;
  readonly inspection: LiveInterception;
  readonly unblocks: UnblockStore;
  readonly phrases: LivePhrases;
  readonly commits: CommitWatch;
}

export function openLive(o: { service: ListService; db: Database; alertsDb: Database; data: string; ca: SchoolCa | null; log: Logger; parts: Stopping }): LiveParts {
  const { service, db, alertsDb, log, parts } = o;
  // Commits by other processes (the CLI, a staff app elsewhere, the other proxy workers) and
  // threads to either database, seen within a tenth of a second by one timer (store/commit-watch.ts).
  const commits = new CommitWatch(log);
  parts.add({ name: 'database notices', begin: () => commits.stop() });
  // The DSL's phrases (schoolgate phrases add|weight|remove) are swapped in within a second.
  const phrases = new LivePhrases(service, alertsDb, log);
  phrases.check();
  commits.on(alertsDb, () => phrases.check());
  // HTTPS inspection once the school's CA exists (schoolgate ca init); a CA rotated while running takes effect on restart.
  // `ca init` and `ca rotate` tell a running Schoolgate to reload, which reads the CA again: new
  // tunnels use the new one at once, tunnels already open keep theirs.
  const inspection = new LiveInterception(o.data, () => service.config.tls.certificateDays, log, o.ca);
  service.onReload(() => inspection.refresh());
  // The proxy's snapshot: the configuration with the approved unblocks laid over its policy, the
  // lists, inspection, the exclusions and the upstream pool. Rebuilt on reload, when the staff app
  // here changes an unblock, when another process commits to either database (an unblock from
  // the CLI, an exclusion from `alerts false-positive`), after a phrase swap, and when an unblock ends.
  const unblocks = new UnblockStore(db);
  const live = new LiveSnapshot(service, { unblocks, exclusions: { inForce: () => readStoredExclusions(alertsDb) }, tls: () => inspection.current, log });
  service.onReload(() => live.refresh('reload'));
  phrases.on('changed', () => live.refresh('DSL phrases'));
  commits.on(db, () => live.refresh('schoolgate.db changed', 'unblocks'));
  commits.on(alertsDb, () => live.refresh('alerts.db changed', 'exclusions'));
  commits.start();
  // Closed once the proxy has finished (parts finish in reverse): its upstream pool closes then.
  parts.add({ name: 'snapshot', finish: () => live.close() });
  return { live, inspection, unblocks, phrases, commits };
}
