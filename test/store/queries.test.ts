// The traffic queries on a small log written through the real writer, read back on a read-only
// connection (so a query that wrote would fail), with exact answers; and each query's plan reads
// through an index or a rowid range, never the whole table.
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import {
  activity, activitySql, eachActivity, HOURLY_GROUP_SQL, HOURLY_SQL, hourlyVolume, ILLEGAL_SQL, illegalAttempts, searchTerms, searchTermsSql,
  TOP_BLOCKED_GROUP_SQL, TOP_BLOCKED_SQL, topBlocked, type ActivityRow,
} from '../../src/store/queries.js';
import { idAtTime, toTuple, type TrafficEntry } from '../../src/store/traffic-entry.js';
import { TrafficWriter } from '../../src/store/traffic-writer.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-queries-');
let db: Database;
afterAll(() => {
  db?.close();
  tmp.cleanup();
});

type Entry = Omit<TrafficEntry, 'id'>;
const BASE: Entry = {
  client: '10.1.2.5', user: 'amy', group: 'ks2', method: 'GET', scheme: 'http', host: 'www.bbc.co.uk', path: '/news', categories: 'news',
  action: 'allow', ruleKind: 'default', rule: null, status: 200, up: 300, down: 5000, ms: 40, term: null, alert: null,
};
const GAMBLING = { categories: 'gambling', action: 'block', ruleKind: 'level', rule: 'KS2 filter level: gambling is blocked', status: 403, down: 800 } as const;

// November is GMT, so these local times are also UTC; the June row is in BST (UTC+1).
const LOG: [at: string, over: Partial<Entry>][] = [
  ['2026-11-18T09:00:00.000Z', {}],
  ['2026-11-18T09:00:01.250Z', { scheme: 'https', host: 'www.google.co.uk', path: '/search?q=volcano+facts', categories: 'search-engines', term: 'volcano facts' }],
  ['2026-11-18T09:05:00.000Z', { method: 'CONNECT', scheme: 'https', host: 'poker.example', path: null, ...GAMBLING, up: 0 }],
  ['2026-11-18T09:10:00.000Z', { client: '10.1.2.6', user: 'ben', host: 'casino.example', path: '/', ...GAMBLING, categories: 'adult,gambling' }],
  ['2026-11-18T09:11:00.000Z', { client: '10.1.2.6', user: 'ben', method: 'CONNECT', scheme: 'https', host: 'poker.example', path: null, ...GAMBLING }],
  ['2026-11-18T09:20:00.000Z', { client: '192.168.50.9', user: null, group: 'guest', host: 'example.org', path: '/', categories: '' }],
  ['2026-11-18T10:00:00.000Z', { client: '10.2.0.7', user: 'm.jones', group: 'staff', scheme: 'https', host: 'www.google.co.uk', path: '/search?[redacted]', categories: 'search-engines' }],
  ['2026-11-18T10:15:00.000Z', { client: '10.2.0.7', user: 'm.jones', group: 'staff', host: 'games.example', path: '/play', categories: 'games', action: 'warn', ruleKind: 'level', rule: 'Staff filter level: games warns', status: 200 }],
  ['2026-11-18T10:16:00.000Z', { client: '10.2.0.7', user: 'm.jones', group: 'staff', host: 'games.example', path: '/play', categories: 'games', action: 'continued', ruleKind: 'level', rule: 'Staff filter level: games warns' }],
  ['2026-11-18T10:30:00.000Z', { client: '10.1.2.6', user: 'ben', host: 'abuse.iwf-test.invalid', path: '/x', categories: 'iwf', action: 'block', ruleKind: 'illegal', rule: 'illegal content (IWF list)', status: 403, alert: 7 }],
  ['2026-11-18T11:00:00.000Z', { client: '10.1.1.3', user: 'cat', group: 'ks1', host: 'unknown.example', path: '/', categories: '', action: 'block', ruleKind: 'default', rule: 'KS1: only listed sites', status: 403 }],
  ['2026-11-19T09:00:00.000Z', { scheme: 'https', host: 'www.bing.com', path: '/search?q=tudors', categories: 'search-engines', term: 'tudors' }],
  // Logged under another spelling of the same sign-in, from another device.
  ['2026-11-19T09:30:00.000Z', { client: '10.1.2.7', user: 'Amy', host: 'www.bbc.co.uk', path: '/bitesize' }],
  ['2026-11-20T00:00:00.000Z', { path: '/weather' }],
  // 23:30 UTC on 10 June is 00:30 on 11 June in London.
  ['2026-06-10T23:30:00.000Z', { ...GAMBLING, host: 'bet.example', path: '/' }],
];

const entries: TrafficEntry[] = LOG.map(([at, over]) => ({ ...BASE, ...over, id: idAtTime(Date.parse(at)) }));

/** The ActivityRow the queries should give back for entry i. */
function expected(i: number): ActivityRow {
  const e = entries[i]!;
  return {
    id: e.id, time: LOG[i]![0], client: e.client, user: e.user, group: e.group, method: e.method, scheme: e.scheme, host: e.host, path: e.path,
    categories: e.categories === '' ? [] : e.categories.split(','), action: e.action, ruleKind: e.ruleKind, rule: e.rule, status: e.status,
    up: e.up, down: e.down, ms: e.ms, term: e.term, alert: e.alert,
  };
}

const at = (iso: string): Date => new Date(iso);
const DAY_18 = { from: at('2026-11-18T00:00Z'), to: at('2026-11-19T00:00Z') };
const THREE_DAYS = { from: at('2026-11-18T00:00Z'), to: at('2026-11-21T00:00Z') };

beforeAll(() => {
  const dir = join(tmp.dir, 'data');
  const w = openDatabase(dir);
  const writer = new TrafficWriter(w, 'Europe/London');
  expect(writer.write(entries.map((e) => toTuple(e, e.id)))).toEqual({ written: LOG.length, duplicates: 0 });
  w.close();
  db = new BetterSqlite3(join(dir, 'schoolgate.db'), { readonly: true, fileMustExist: true });
});

describe('activity', () => {
  it('gives one person\'s rows in the range, oldest first, every column decoded', () => {
    expect(activity(db, { user: 'amy', ...DAY_18 })).toEqual([expected(0), expected(1), expected(2)]);
    expect(activity(db, { user: 'ben', ...DAY_18 })).toEqual([expected(3), expected(4), expected(9)]);
    expect(activity(db, { user: 'nobody', ...DAY_18 })).toEqual([]);
  });

  it('matches a username without regard to case, across the spellings it was logged under', () => {
    const all = [0, 1, 2, 11, 12, 13].map(expected);
    expect(activity(db, { user: 'AMY', ...THREE_DAYS })).toEqual(all);
    expect(activity(db, { user: 'amy', ...THREE_DAYS, newestFirst: true, limit: 3 })).toEqual([expected(13), expected(12), expected(11)]);
    expect(activity(db, { user: ' Amy ', ...THREE_DAYS, limit: 0 })).toEqual([]);
  });

  it('takes from as inclusive and to as exclusive, to the millisecond', () => {
    const exact = { from: at('2026-11-18T09:00:01.250Z'), to: at('2026-11-18T09:05:00.000Z') };
    expect(activity(db, { user: 'amy', ...exact })).toEqual([expected(1)]);
    expect(activity(db, { user: 'amy', from: at('2026-11-19T09:00Z'), to: at('2026-11-20T00:00:00.001Z') }).map((r) => r.path)).toEqual(['/search?q=tudors', '/bitesize', '/weather']);
  });

  it('gives one device\'s rows, whoever used it; an IPv4-mapped address is its IPv4 address', () => {
    expect(activity(db, { ip: '10.1.2.6', ...THREE_DAYS })).toEqual([expected(3), expected(4), expected(9)]);
    expect(activity(db, { ip: '::ffff:10.1.2.6', ...THREE_DAYS })).toEqual([expected(3), expected(4), expected(9)]);
    expect(activity(db, { ip: '192.168.50.9', ...DAY_18 })).toEqual([expected(5)]);
    expect(activity(db, { ip: '10.9.9.9', ...DAY_18 })).toEqual([]);
  });

  it('streams with eachActivity, and refuses a query that names nobody or two subjects', () => {
    const it = eachActivity(db, { user: 'amy', ...DAY_18 });
    expect(it.next().value).toEqual(expected(0));
    it.return(undefined);
    expect(() => activity(db, { ...DAY_18 })).toThrow(/either user or ip/);
    expect(() => activity(db, { user: 'amy', ip: '10.1.2.5', ...DAY_18 })).toThrow(/either user or ip/);
    expect(() => activity(db, { user: 'amy', from: new Date('nonsense'), to: new Date() })).toThrow(RangeError);
    expect(() => activity(db, { user: 'amy', ...DAY_18, limit: 1.5 })).toThrow(RangeError);
  });
});

describe('searchTerms', () => {
  it('gives a person\'s searches with time, engine and device; a redacted query has no term', () => {
    const search = (i: number) => ({ id: entries[i]!.id, time: LOG[i]![0], term: entries[i]!.term, host: entries[i]!.host, client: entries[i]!.client, action: 'allow' });
    expect(searchTerms(db, { user: 'amy', ...THREE_DAYS })).toEqual([search(1), search(11)]);
    expect(searchTerms(db, { user: 'amy', ...THREE_DAYS, limit: 1 })).toEqual([search(1)]);
    expect(searchTerms(db, { user: 'amy', ...DAY_18 })).toEqual([search(1)]);
    expect(searchTerms(db, { user: 'm.jones', ...THREE_DAYS })).toEqual([]);
    expect(searchTerms(db, { user: 'nobody', ...THREE_DAYS })).toEqual([]);
  });
});

describe('illegalAttempts', () => {
  it('gives the requests the illegal-content lists blocked, and nothing else', () => {
    expect(illegalAttempts(db, THREE_DAYS)).toEqual([expected(9)]);
    expect(illegalAttempts(db, { from: at('2026-11-18T10:30:00.001Z'), to: THREE_DAYS.to })).toEqual([]);
    expect(illegalAttempts(db, { from: at('2026-01-01T00:00Z'), to: at('2026-11-18T00:00Z') })).toEqual([]);
  });
});

describe('topBlocked', () => {
  it('gives each group\'s most blocked sites and categories of a local day', () => {
    expect(topBlocked(db, { day: '2026-11-18' })).toEqual([
      { group: 'ks1', attempts: 1, sites: [{ host: 'unknown.example', attempts: 1 }], categories: [{ category: null, attempts: 1 }] },
      {
        group: 'ks2', attempts: 4,
        sites: [{ host: 'poker.example', attempts: 2 }, { host: 'abuse.iwf-test.invalid', attempts: 1 }, { host: 'casino.example', attempts: 1 }],
        // casino.example is in two categories and counts for both.
        categories: [{ category: 'gambling', attempts: 3 }, { category: 'adult', attempts: 1 }, { category: 'iwf', attempts: 1 }],
      },
    ]);
  });

  it('keeps to the limit (ties in name order) and to the group asked for', () => {
    expect(topBlocked(db, { day: '2026-11-18', group: 'ks2', limit: 2 })).toEqual([{
      group: 'ks2', attempts: 4,
      sites: [{ host: 'poker.example', attempts: 2 }, { host: 'abuse.iwf-test.invalid', attempts: 1 }],
      categories: [{ category: 'gambling', attempts: 3 }, { category: 'adult', attempts: 1 }],
    }]);
    // Warned and continued are not blocked.
    expect(topBlocked(db, { day: '2026-11-18', group: 'staff' })).toEqual([]);
    expect(topBlocked(db, { day: '2026-11-18', group: 'no-such-group' })).toEqual([]);
    expect(topBlocked(db, { day: '2026-11-17' })).toEqual([]);
    expect(() => topBlocked(db, { day: '18/11/2026' })).toThrow(/YYYY-MM-DD/);
  });

  it('counts a block by the school\'s date, not UTC\'s', () => {
    expect(topBlocked(db, { day: '2026-06-10' })).toEqual([]);
    expect(topBlocked(db, { day: '2026-06-11' })).toEqual([
      { group: 'ks2', attempts: 1, sites: [{ host: 'bet.example', attempts: 1 }], categories: [{ category: 'gambling', attempts: 1 }] },
    ]);
  });
});

describe('hourlyVolume', () => {
  const none = { allow: 0, warn: 0, block: 0, continued: 0, refused: 0 };
  it('gives requests, bytes and actions for each hour with traffic', () => {
    expect(hourlyVolume(db, DAY_18)).toEqual([
      { hour: '2026-11-18T09:00:00.000Z', requests: 6, bytes: 3 * 5300 + 800 + 2 * 1100, actions: { ...none, allow: 3, block: 3 } },
      { hour: '2026-11-18T10:00:00.000Z', requests: 4, bytes: 4 * 5300, actions: { ...none, allow: 1, warn: 1, continued: 1, block: 1 } },
      { hour: '2026-11-18T11:00:00.000Z', requests: 1, bytes: 5300, actions: { ...none, block: 1 } },
    ]);
  });

  it('keeps to one group, and counts every hour the range overlaps', () => {
    expect(hourlyVolume(db, { ...DAY_18, group: 'staff' })).toEqual([
      { hour: '2026-11-18T10:00:00.000Z', requests: 3, bytes: 3 * 5300, actions: { ...none, allow: 1, warn: 1, continued: 1 } },
    ]);
    expect(hourlyVolume(db, { from: at('2026-11-18T10:59Z'), to: at('2026-11-18T11:01Z'), group: 'ks1' }).map((h) => h.requests)).toEqual([1]);
    expect(hourlyVolume(db, { ...DAY_18, group: 'no-such-group' })).toEqual([]);
  });
});

describe('query plans', () => {
  /** EXPLAIN QUERY PLAN's lines for the SQL with these parameters. */
  const plan = (sql: string, ...params: unknown[]): string[] => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  const fullScan = /^SCAN (t|traffic|blocked_daily|traffic_hourly)\b/;
  /** A device's rows: traffic's own key, the device and then the id range. */
  const byKey = /^SEARCH t USING PRIMARY KEY \(client=\? AND id>\? AND id<\?\)$/;
  /** A person's devices: person_devices by its key. */
  const devices = /^SEARCH person_devices USING PRIMARY KEY \(person=\?\)$/;

  it('reads a device\'s rows as one key range in key order, and a person\'s device by device', () => {
    for (const newestFirst of [false, true]) {
      const client = plan(activitySql('client', 1, newestFirst, false), 1, 0, 1);
      expect(client[0]).toMatch(byKey);
      expect(client.filter((l) => fullScan.test(l) || /TEMP B-TREE/.test(l))).toEqual([]);
      const person = plan(activitySql('person', 1, newestFirst, true), 1, 0, 1, 1, 0, 1, 10);
      expect(person.some((l) => byKey.test(l))).toBe(true);
      expect(person.some((l) => devices.test(l) || /person_devices/.test(l) && /PRIMARY KEY \(person=\?\)/.test(l))).toBe(true);
      expect(person.filter((l) => fullScan.test(l))).toEqual([]);
    }
    // Each dictionary by its primary key.
    expect(plan(activitySql('client', 1, false, false), 1, 0, 1).slice(1).every((l) => / USING INTEGER PRIMARY KEY \(rowid=\?\) LEFT-JOIN$/.test(l))).toBe(true);
  });

  it('reads searches device by device, illegal attempts through the partial index', () => {
    const search = plan(searchTermsSql(1), 1, 0, 1, 1, 0, 1, -1);
    expect(search.some((l) => byKey.test(l))).toBe(true);
    expect(search.filter((l) => fullScan.test(l))).toEqual([]);
    const illegal = plan(ILLEGAL_SQL, 0, 1, -1);
    expect(illegal[0]).toBe('SEARCH t USING INDEX traffic_illegal (id>? AND id<?)');
    expect(illegal.filter((l) => fullScan.test(l) || /TEMP B-TREE/.test(l))).toEqual([]);
  });

  it('reads the rollups by their primary keys', () => {
    expect(plan(TOP_BLOCKED_SQL, '2026-11-18')).toEqual(['SEARCH blocked_daily USING PRIMARY KEY (day=?)']);
    expect(plan(TOP_BLOCKED_GROUP_SQL, '2026-11-18', 1)).toEqual(['SEARCH blocked_daily USING PRIMARY KEY (day=? AND grp=?)']);
    for (const [sql, ...params] of [[HOURLY_SQL, 0, 1], [HOURLY_GROUP_SQL, 0, 1, 1]] as const) {
      const lines = plan(sql, ...params);
      expect(lines[0]).toBe('SEARCH traffic_hourly USING PRIMARY KEY (hour>? AND hour<?)');
      expect(lines.filter((l) => fullScan.test(l))).toEqual([]);
    }
  });
});
