// The traffic log end to end on real SQLite files: rows stored off the event loop, rollups,
// spilling while the database is locked and replaying after, shutdown, and retention.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { LogConfig, RetentionConfig } from '../../src/store/config.js';
import { openDatabase } from '../../src/store/db.js';
import { TrafficLog, type NewTrafficEntry } from '../../src/store/traffic-log.js';
import { tempDir } from '../helpers/lists.js';
import { recordingLogger } from '../helpers/log-lines.js';
import { eventually } from '../helpers/raw-http.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;
const fresh = (): string => {
  const dir = join(tmp.dir, `d${n++}`);
  openDatabase(dir).close();
  return dir;
};
const silent = createLogger({ level: 'silent' });
const CONFIG: LogConfig = { queries: new Map(), batchRows: 100, flushMs: 20, maxPendingRows: 10_000 };
const KEEP: RetentionConfig = { traffic: 90, reports: 730, alerts: 2557, concerns: 2557 };
const DAY = 86_400_000;

function entry(i: number, over: Partial<NewTrafficEntry> = {}): NewTrafficEntry {
  return {
    client: `10.0.0.${i % 5}`, user: i % 2 ? `pupil${i % 3}` : null, group: 'ks2', method: 'GET', scheme: 'http',
    host: `site${i % 7}.example`, path: `/page/${i % 11}`, categories: i % 4 === 0 ? 'games' : '', action: i % 4 === 0 ? 'block' : 'allow',
    ruleKind: i % 4 === 0 ? 'level' : 'default', rule: i % 4 === 0 ? 'KS2 filter level: games is blocked' : null,
    status: i % 4 === 0 ? 403 : 200, up: 10, down: 1000, ms: 5, term: i % 10 === 0 ? `term ${i % 3}` : null, alert: null, ...over,
  };
}

function rows(dir: string): { id: number; client: string; person: string | null; host: string; path: string | null; cats: string | null; action: number }[] {
  const db = new BetterSqlite3(join(dir, 'schoolgate.db'), { readonly: true });
  try {
    return db.prepare(`SELECT t.id, c.text AS client, p.text AS person, h.text AS host, pa.text AS path, l.text AS cats, t.action
      FROM traffic t JOIN clients c ON c.id = t.client LEFT JOIN people p ON p.id = t.person JOIN hosts h ON h.id = t.host
      LEFT JOIN paths pa ON pa.id = t.path LEFT JOIN labels l ON l.id = t.cats ORDER BY t.id`).all() as never;
  } finally {
    db.close();
  }
}

function scalar(dir: string, sql: string): unknown {
  const db = new BetterSqlite3(join(dir, 'schoolgate.db'), { readonly: true });
  try {
    return db.prepare(sql).pluck().get();
  } finally {
    db.close();
  }
}

describe('the traffic log', () => {
  it('stores every recorded row, with its text interned, and keeps the rollups', async () => {
    const dir = fresh();
    const log = await TrafficLog.open({ dataDir: dir, timeZone: 'Europe/London', config: CONFIG, retention: KEEP, log: silent });
    const ids = Array.from({ length: 1000 }, (_, i) => log.record(entry(i)));
    expect(new Set(ids).size).toBe(1000);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await log.close();
    const stored = rows(dir);
    expect(stored.map((r) => r.id)).toEqual(ids);
    expect(stored[4]).toMatchObject({ client: '10.0.0.4', person: null, host: 'site4.example', path: '/page/4', cats: 'games', action: 2 });
    expect(stored[1]).toMatchObject({ person: 'pupil1', cats: null, action: 0 });
    expect(scalar(dir, 'SELECT count(*) FROM hosts')).toBe(7);
    expect(scalar(dir, 'SELECT count(*) FROM paths')).toBe(11);
    expect(scalar(dir, 'SELECT sum(requests) FROM traffic_hourly')).toBe(1000);
    expect(scalar(dir, 'SELECT sum(bytes) FROM traffic_hourly')).toBe(1000 * 1010);
    expect(scalar(dir, 'SELECT sum(attempts) FROM blocked_daily')).toBe(250);
  });

  it('continues ids after the newest stored row, even when the clock goes back', async () => {
    const dir = fresh();
    const first = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: CONFIG, retention: KEEP, log: silent });
    const a = first.record(entry(1));
    await first.close();
    const second = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: CONFIG, retention: KEEP, log: silent, now: () => Date.now() - DAY });
    const b = second.record(entry(2));
    await second.close();
    expect(b).toBeGreaterThan(a);
    expect(rows(dir).length).toBe(2);
  });

  it('spills to a file while the database is locked, then replays it: nothing lost, nothing twice', async () => {
    const dir = fresh();
    const kept = recordingLogger();
    const log = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: { ...CONFIG, batchRows: 10, maxPendingRows: 50 }, retention: KEEP, log: kept.log });
    // Another connection holds the write lock: the writer waits (busy timeout), rows pile up.
    // Every 10 rows go to the writer, which stores none: past 50 pending, rows are spilled.
    const blocker = new BetterSqlite3(join(dir, 'schoolgate.db'));
    blocker.exec('BEGIN IMMEDIATE');
    const ids = Array.from({ length: 500 }, (_, i) => log.record(entry(i)));
    log.flush();
    expect(log.stats().spilled).toBe(450);
    expect(log.stats().stored).toBe(0);
    // The write stream opens its file a moment after spilling starts, announced nowhere: look.
    expect(await eventually(() => readdirSync(join(dir, 'traffic-spill')).length > 0)).toBe(true);
    blocker.exec('COMMIT');
    blocker.close();
    // The writer stores what it holds, catches up, and replays the spill file.
    await kept.waitFor(/spill file replayed/);
    expect(log.stats().stored).toBe(500);
    await log.close();
    expect(rows(dir).map((r) => r.id)).toEqual(ids);
    expect(scalar(dir, 'SELECT sum(requests) FROM traffic_hourly')).toBe(500);
    expect(readdirSync(join(dir, 'traffic-spill'))).toEqual([]);
  });

  it('keeps rows the writer has not stored at shutdown in a file, replayed once at the next start', async () => {
    const dir = fresh();
    const log = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: CONFIG, retention: KEEP, log: silent });
    const blocker = new BetterSqlite3(join(dir, 'schoolgate.db'), { timeout: 0 });
    blocker.exec('BEGIN IMMEDIATE');
    const ids = Array.from({ length: 300 }, (_, i) => log.record(entry(i)));
    await log.close();
    blocker.exec('COMMIT');
    blocker.close();
    expect(readdirSync(join(dir, 'traffic-spill')).join(' ')).toMatch(/-shutdown-/);
    const again = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: CONFIG, retention: KEEP, log: silent });
    await again.close();
    expect(rows(dir).map((r) => r.id)).toEqual(ids);
    expect(scalar(dir, 'SELECT sum(requests) FROM traffic_hourly')).toBe(300);
  });
});

describe('retention', () => {
  it('deletes rows and the dictionary entries only they used, at the boundary, and keeps the rest', async () => {
    const dir = fresh();
    const now = Date.now();
    let clock = now - 91 * DAY;
    const log = await TrafficLog.open({ dataDir: dir, timeZone: 'UTC', config: CONFIG, retention: KEEP, log: silent, now: () => clock });
    log.record(entry(1, { path: '/old-only?q=private', term: 'old search', client: '10.9.9.9', user: 'leaver' }));
    log.record(entry(2, { path: '/shared' }));
    clock = now - 89 * DAY;
    const kept = log.record(entry(3, { path: '/shared' }));
    clock = now;
    const newest = log.record(entry(4, { path: '/new' }));
    await log.settle();
    const db = openDatabase(dir);
    db.prepare("INSERT INTO concerns (at, reference, url, group_id, username, address, text) VALUES (?, NULL, NULL, 'ks2', NULL, '10.0.0.1', 'old')").run(new Date(now - 2558 * DAY).toISOString());
    db.prepare("INSERT INTO concerns (at, reference, url, group_id, username, address, text) VALUES (?, NULL, NULL, 'ks2', NULL, '10.0.0.1', 'recent')").run(new Date(now - 2556 * DAY).toISOString());
    db.close();
    const deleted = await log.purge();
    await log.close();
    expect(deleted.traffic).toBe(2);
    expect(rows(dir).map((r) => r.id)).toEqual([kept, newest]);
    expect(scalar(dir, "SELECT count(*) FROM paths WHERE text = '/old-only?q=private'")).toBe(0);
    expect(scalar(dir, "SELECT count(*) FROM paths WHERE text = '/shared'")).toBe(1);
    expect(scalar(dir, "SELECT count(*) FROM terms WHERE text = 'old search'")).toBe(0);
    expect(scalar(dir, "SELECT count(*) FROM people WHERE text = 'leaver'")).toBe(0);
    expect(scalar(dir, "SELECT count(*) FROM clients WHERE text = '10.9.9.9'")).toBe(0);
    expect(scalar(dir, "SELECT group_concat(text) FROM concerns")).toBe('recent');
    // The hourly rollup outlives the rows (reports are kept 730 days).
    expect(scalar(dir, 'SELECT sum(requests) FROM traffic_hourly')).toBe(4);
    expect(existsSync(join(dir, 'schoolgate.db'))).toBe(true);
  });
});
