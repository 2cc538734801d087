// What the proxy's snapshot costs (src/proxy/live-snapshot.ts), on real SQLite files: a notice
// that finds nothing changed (what a traffic-log commit costs: the proxy reads the unblocks and
// exclusions again and compares), a notice that swaps in a new snapshot (20 unblocks laid over the
// policy, 10 exclusions compiled), PRAGMA data_version for two files (the commit watch's tick),
// and what a request pays for its snapshot (hold and release). Run: npx tsx bench/snapshot-swap.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAlertsDatabase } from '../src/alerts/db.js';
import { readStoredExclusions } from '../src/alerts/exclusions.js';
import { loadConfig } from '../src/config/load.js';
import { LiveSnapshot } from '../src/proxy/live-snapshot.js';
import { COMMIT_CHECK_MS, CommitWatch } from '../src/store/commit-watch.js';
import { openDatabase } from '../src/store/db.js';
import { UnblockStore } from '../src/store/unblocks.js';
import { classifierFor, CONFIG_DIR } from '../test/helpers/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'schoolgate-snapshot-bench-'));
try {
  const config = loadConfig(join(CONFIG_DIR, 'default.yaml'));
  const base = { config, classifier: classifierFor(dir) };
  const db = openDatabase(join(dir, 'data'));
  const alertsDb = openAlertsDatabase(join(dir, 'data'));
  const other = openDatabase(join(dir, 'data'));
  const store = new UnblockStore(other);
  const now = Date.now();
  for (let i = 0; i < 20; i++) {
    const r = store.request({
      requestedBy: 'mr.jones', url: `http://site${i}.example.test/`, site: `site${i}.example.test`, categories: ['games'], reference: null,
      target: { kind: 'group', group: 'ks2' }, reason: 'lesson', from: new Date(now), until: new Date(now + 3_600_000), approverRole: 'technician',
    });
    store.approve(r.id, 'it.tech');
  }
  for (let i = 0; i < 10; i++) {
    alertsDb.prepare('INSERT INTO exclusions (kind, value, group_id, reason, created_by, created_at) VALUES (?, ?, NULL, ?, ?, ?)').run('term', `excluded words ${i}`, 'bench', 'dsl', new Date().toISOString());
  }
  const live = new LiveSnapshot(base, { unblocks: new UnblockStore(db), exclusions: { inForce: () => readStoredExclusions(alertsDb) } });
  const per = (n: number, f: () => void): number => {
    for (let i = 0; i < Math.min(n, 200); i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    return Number(process.hrtime.bigint() - t) / n / 1000;
  };
  // A notice from schoolgate.db (a traffic-log commit, say) with the unblocks unchanged.
  const unchanged = per(2_000, () => live.refresh('bench', 'unblocks'));
  const unchangedBoth = per(2_000, () => live.refresh());
  // A swap: the store's rows differ each time (one unblock's end moves by a millisecond).
  let k = 0;
  const moving = { inForce: () => new UnblockStore(db).inForce(new Date()).map((u, i) => (i === 0 ? { ...u, until: new Date(u.until.getTime() + ++k) } : u)) };
  const swapping = new LiveSnapshot(base, { unblocks: moving, exclusions: { inForce: () => readStoredExclusions(alertsDb) } });
  const swap = per(300, () => swapping.refresh());
  const watch = new CommitWatch();
  watch.on(db, () => {});
  watch.on(alertsDb, () => {});
  const tick = per(20_000, () => watch.check());
  const hold = per(1_000_000, () => live.release(live.hold()));
  // The baseline in the same run: what a request paid before (gate.ts snapshotsOf: three
  // reference comparisons against the live source, no hold).
  let last: { config: unknown; classifier: unknown; tls: unknown } | null = null;
  const tlsNow = (): null => null;
  const before = per(1_000_000, () => {
    const t = tlsNow();
    if (last === null || last.config !== base.config || last.classifier !== base.classifier || last.tls !== t) last = Object.freeze({ config: base.config, classifier: base.classifier, tls: t });
  });
  console.log(JSON.stringify({
    unblocks: live.current.config.policy.unblocks.size, exclusions: live.current.exclusions.size,
    noticeNothingChangedUs: +unchanged.toFixed(1), noticeBothNothingChangedUs: +unchangedBoth.toFixed(1), noticeSwapUs: +swap.toFixed(1), commitWatchTickUs: +tick.toFixed(2), requestHoldReleaseUs: +hold.toFixed(3), requestBeforeUs: +before.toFixed(3),
    noticeShareOfTick: +(unchanged / (COMMIT_CHECK_MS * 1000)).toFixed(4),
  }));
  live.close();
  swapping.close();
  for (const d of [db, alertsDb, other]) d.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
