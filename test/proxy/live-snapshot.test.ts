// The running proxy's snapshot: unblocks and exclusions committed by another connection to the
// real SQLite files reach the proxy on notice (PRAGMA data_version, store/commit-watch.ts) with
// no request reading SQLite; an unblock's end takes effect when the clock reaches it; a request
// in flight across a swap keeps the snapshot it took, and the old upstream pool closes only once
// that request is done.
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { readStoredExclusions, type Exclusion } from '../../src/alerts/exclusions.js';
import { AlertService, type AlertSink } from '../../src/alerts/service.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { createLogger } from '../../src/log.js';
import { decide } from '../../src/policy/decide.js';
import type { Unblock } from '../../src/policy/types.js';
import { LiveSnapshot, type Clock } from '../../src/proxy/live-snapshot.js';
import { createProxyServer, type Proxy } from '../../src/proxy/server.js';
import { CommitWatch } from '../../src/store/commit-watch.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { UnblockStore } from '../../src/store/unblocks.js';
import { tempDir } from '../helpers/lists.js';
import { classifierFor, CONFIG_DIR } from '../helpers/policy.js';
import { closeAll, listen, viaProxy, writeTestConfig } from '../helpers/proxy.js';

const HOUR = 3_600_000;
const HIDE = 'how to hide my cuts from mum';
const log = createLogger({ level: 'silent' });

/** A clock the snapshot, the store and the proxy all take `now` from; the test moves it, and what waits for a time runs when it is reached. */
function manualClock(start: number): Clock & { advance(ms: number): void } {
  let t = start;
  let waits: { time: number; fn: () => void }[] = [];
  return {
    now: () => t,
    at(time, fn) {
      const w = { time, fn };
      waits.push(w);
      return () => void (waits = waits.filter((x) => x !== w));
    },
    advance(ms) {
      t += ms;
      const due = waits.filter((w) => w.time <= t);
      waits = waits.filter((w) => w.time > t);
      for (const w of due) w.fn();
    },
  };
}

/**
 * An origin that answers /slow only when let go: a request held there is in flight. `arrived`
 * resolves when the held request reaches it.
 */
async function startHoldingOrigin() {
  let letGo: () => void = () => {};
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => { arrived = r; });
  const held = new Promise<void>((r) => { letGo = r; });
  const server = http.createServer((req, res) => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello ${req.url}`);
    };
    if (req.url !== '/slow') return answer();
    arrived();
    void held.then(answer);
  });
  return { server, port: await listen(server), reached, letGo: () => letGo() };
}

describe('the snapshot on notice, through the real proxy', () => {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  const clock = manualClock(Date.parse('2026-03-11T10:00:00Z'));
  let config: SchoolgateConfig;
  let base: { config: SchoolgateConfig; classifier: Classifier };
  let db: Database;
  let alertsDb: Database;
  let other: Database;
  let otherAlerts: Database;
  let alerts: AlertService;
  const raised: (Promise<number | null> | null)[] = [];
  let live: LiveSnapshot;
  let commits: CommitWatch;
  let proxy: Proxy;
  let proxyPort = 0;
  let origin: Awaited<ReturnType<typeof startHoldingOrigin>>;

  beforeAll(async () => {
    origin = await startHoldingOrigin();
    config = loadConfig(writeTestConfig(tmp.dir, 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    "*.selftest.invalid": 127.0.0.1\n    "www.google.co.uk": 127.0.0.1\n'));
    base = { config, classifier: (await loadLists(config, { dataDir })).classifier };
    db = openDatabase(dataDir);
    alertsDb = openAlertsDatabase(dataDir);
    // The other writer: a second connection to each file, as the CLI in another process has.
    other = openDatabase(dataDir);
    otherAlerts = openAlertsDatabase(dataDir);
    alerts = new AlertService(alertsDb, { dataDir, config: () => config, log, now: () => clock.now() });
    const sink: AlertSink = { raise: (c, d, who, exclusions) => { const id = alerts.raise(c, d, who, exclusions); raised.push(id); return id; } };
    live = new LiveSnapshot(base, {
      unblocks: new UnblockStore(db, { now: () => new Date(clock.now()) }), exclusions: { inForce: () => readStoredExclusions(alertsDb) }, clock, log,
    });
    commits = new CommitWatch(log);
    commits.on(db, () => live.refresh('schoolgate.db changed', 'unblocks'));
    commits.on(alertsDb, () => live.refresh('alerts.db changed', 'exclusions'));
    commits.start();
    proxy = createProxyServer({ source: live, log, now: () => clock.now(), alerts: sink });
    proxyPort = await listen(proxy.server);
  });

  afterAll(async () => {
    commits?.stop();
    await closeAll(proxy, origin.server);
    live?.close();
    await alerts?.close();
    for (const d of [db, other, otherAlerts]) d?.close();
    tmp.cleanup();
  });

  const pupil = (host: string, path = '/', from = '127.0.0.9') => viaProxy(proxyPort, `http://${host}:${origin.port}${path}`, { localAddress: from });
  const asked = (site: string, until: number) => ({
    requestedBy: 'mr.jones', url: `http://${site}/`, site, categories: ['games'], reference: null, target: { kind: 'group', group: 'ks2' } as const,
    reason: 'Year 5 coding lesson', from: new Date(clock.now()), until: new Date(until), approverRole: 'technician' as const,
  });

  it('an unblock approved on another connection is honoured after the notice, and ends when the clock reaches its end', async () => {
    expect((await pupil('games.selftest.invalid')).status).toBe(403);
    const store = new UnblockStore(other, { now: () => new Date(clock.now()) });
    const id = store.request(asked('games.selftest.invalid', clock.now() + HOUR)).id;
    const swapped = once(live, 'snapshot');
    store.approve(id, 'it.tech');
    const [snap] = await swapped;
    expect(snap.config.policy.unblocks.size).toBe(1);
    expect(live.current).toBe(snap);
    expect((await pupil('games.selftest.invalid')).status).toBe(200);
    // Its end: the snapshot's timer is on the clock, so moving the clock past it swaps one in without it.
    const ended = once(live, 'snapshot');
    clock.advance(HOUR);
    const [after] = await ended;
    expect(after.version).toBe(snap.version + 1);
    expect(after.config.policy.unblocks.size).toBe(0);
    expect((await pupil('games.selftest.invalid')).status).toBe(403);
  });

  it('a revocation on another connection is honoured after the notice', async () => {
    const store = new UnblockStore(other, { now: () => new Date(clock.now()) });
    const id = store.request(asked('dating.selftest.invalid', clock.now() + HOUR)).id;
    const approved = once(live, 'snapshot');
    store.approve(id, 'it.tech');
    await approved;
    expect((await pupil('dating.selftest.invalid')).status).toBe(200);
    const revoked = once(live, 'snapshot');
    store.revoke(id, 'it.tech');
    const [snap] = await revoked;
    expect(snap.config.policy.unblocks.size).toBe(0);
    expect((await pupil('dating.selftest.invalid')).status).toBe(403);
  });

  it('an exclusion added on another connection stops the alert after the notice', async () => {
    const search = `/search?q=${encodeURIComponent(HIDE).replace(/%20/g, '+')}`;
    const before = raised.length;
    expect((await pupil('www.google.co.uk', search, '127.0.0.21')).status).toBe(200);
    expect(raised.slice(before)).toHaveLength(1);
    expect(raised.at(-1)).not.toBeNull();
    const swapped = once(live, 'snapshot');
    otherAlerts.prepare('INSERT INTO exclusions (kind, value, group_id, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('term', 'hide my cuts', null, 'an RE lesson', 'dsl.jane', new Date(clock.now()).toISOString());
    const [snap] = await swapped;
    expect(snap.exclusions.size).toBe(1);
    expect((await pupil('www.google.co.uk', search, '127.0.0.22')).status).toBe(200);
    expect(raised.slice(-1)).toEqual([null]);
    // Removed again: alerts again.
    const removed = once(live, 'snapshot');
    otherAlerts.prepare('UPDATE exclusions SET removed_at = ? WHERE removed_at IS NULL').run(new Date(clock.now()).toISOString());
    expect((await removed)[0].exclusions.size).toBe(0);
    expect((await pupil('www.google.co.uk', search, '127.0.0.23')).status).toBe(200);
    expect(raised.at(-1)).not.toBeNull();
  });

  it('a request in flight across a swap keeps its snapshot; the old upstream pool closes only after it', async () => {
    const store = new UnblockStore(other, { now: () => new Date(clock.now()) });
    const id = store.request(asked('games.selftest.invalid', clock.now() + HOUR)).id;
    const approved = once(live, 'snapshot');
    store.approve(id, 'it.tech');
    const [first] = await approved;
    // Allowed by the unblock, the request waits at the origin: in flight.
    const inFlight = pupil('games.selftest.invalid', '/slow');
    await origin.reached;
    expect(first.upstream.holds).toBe(1);
    // The unblock is revoked and a reload brings a new proxy section (so a new pool) meanwhile.
    const revoked = once(live, 'snapshot');
    store.revoke(id, 'it.tech');
    await revoked;
    base.config = { ...config, proxy: { ...config.proxy } };
    const reloaded = once(live, 'snapshot');
    live.refresh('reload');
    const [now] = await reloaded;
    expect(now.upstream).not.toBe(first.upstream);
    expect(now.config.policy.unblocks.size).toBe(0);
    // The old pool is still open for the request that holds it; new requests are judged by the new snapshot.
    expect(first.upstream.closed).toBe(false);
    expect((await pupil('games.selftest.invalid')).status).toBe(403);
    origin.letGo();
    expect(await inFlight).toMatchObject({ status: 200, body: 'hello /slow' });
    // Released when its request was handed upstream, the retired pool was closed by the proxy;
    // undici's close() resolves once what was handed to it has finished.
    expect(first.upstream.holds).toBe(0);
    expect(first.upstream.closed).toBe(true);
    await first.upstream.close();
    expect(now.upstream.closed).toBe(false);
    expect((await pupil('education.selftest.invalid')).status).toBe(200);
  });
});

describe('LiveSnapshot when the store cannot be read', () => {
  it('keeps the unblocks last read when the store is busy, over a new base too; one bad unblock is left out alone', () => {
    const tmp = tempDir();
    try {
      const config = loadConfig(join(CONFIG_DIR, 'default.yaml'));
      const classifier = classifierFor(tmp.dir);
      const at = new Date('2026-11-23T10:00:00Z');
      const unblock = (id: string, site: string): Unblock => ({ id, site, target: { kind: 'group', group: 'ks2' }, from: new Date('2026-11-23T09:00:00Z'), until: new Date('2026-11-23T12:00:00Z'), approvedBy: 'it.tech', reason: 'lesson' });
      let rows: Unblock[] = [unblock('1', 'bet.example.test'), unblock('2', 'not a site/')];
      let busy = false;
      const stored: Exclusion[] = [];
      const base = { classifier, config };
      const live = new LiveSnapshot(base, {
        unblocks: { inForce: () => { if (busy) throw new Error('SQLITE_BUSY'); return rows; } },
        exclusions: { inForce: () => stored }, clock: manualClock(at.getTime()), log,
      });
      const action = (): string => decide({ group: 'ks2' }, classifier.classify('http://bet.example.test/'), live.current.config.policy, at).action;
      expect(action()).toBe('allow');
      busy = true;
      rows = [];
      expect(live.refresh()).toBe(false);
      expect(action()).toBe('allow');
      // A reload brings a new base while the store is still busy.
      base.config = { ...config };
      expect(action()).toBe('allow');
      busy = false;
      expect(live.refresh()).toBe(true);
      expect(action()).toBe('block');
      live.close();
    } finally {
      tmp.cleanup();
    }
  });
});
