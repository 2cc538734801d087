// `schoolgate export` end to end: rows written by the real traffic writer, exported by the real
// command as CSV and JSON, parsed and compared exactly; day boundaries in the school's time
// zone; awkward text quoted; the database left as it was.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { idAtTime, toTuple, type TrafficEntry } from '../../src/store/traffic-entry.js';
import { TrafficWriter } from '../../src/store/traffic-writer.js';
import { ROOT, schoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-export-cli-');
afterAll(tmp.cleanup);
const data = join(tmp.dir, 'data');

type Entry = Omit<TrafficEntry, 'id'>;
const AMY: Entry = {
  client: '10.1.2.5', user: 'amy', group: 'ks2', method: 'GET', scheme: 'http', host: 'www.bbc.co.uk', path: '/news', categories: 'news',
  action: 'allow', ruleKind: 'default', rule: null, status: 200, up: 300, down: 5000, ms: 40, term: null, alert: null,
};

// 10 June 2026 is in BST: the school's day runs from 23:00 UTC on the 9th to 23:00 UTC on the 10th.
const LOG: [at: string, over: Partial<Entry>][] = [
  ['2026-06-09T22:59:59.999Z', { path: '/the-day-before' }],
  ['2026-06-09T23:00:00.000Z', { path: '/just-after-midnight' }],
  ['2026-06-10T08:30:00.000Z', {
    scheme: 'https', host: 'www.google.co.uk', path: '/search?q=%22quoted%22,comma', categories: 'search-engines', term: 'say "hello", then\r\nleave',
  }],
  ['2026-06-10T08:45:00.000Z', {
    method: 'CONNECT', scheme: 'https', host: 'poker.example', path: null, categories: 'gambling,adult', action: 'block', ruleKind: 'level',
    rule: 'KS2 filter level: gambling, adult are blocked', status: 403, up: 0, down: 0, ms: 0, alert: 12,
  }],
  ['2026-06-10T09:15:00.000Z', { client: '10.1.2.6', user: 'ben', path: '/bens-page' }],
  ['2026-06-10T12:00:00.000Z', { client: '10.1.2.6', user: 'Amy', host: 'example.org', path: '/a,b "c"\nd', categories: '' }],
  ['2026-06-10T22:59:59.999Z', { path: '/last-moment' }],
  ['2026-06-10T23:00:00.000Z', { path: '/the-next-day' }],
];
const entries: TrafficEntry[] = LOG.map(([at, over]) => ({ ...AMY, ...over, id: idAtTime(Date.parse(at)) }));

/** The CSV record the export should give for entry i, local time as written. */
function record(i: number, localTime: string): string[] {
  const e = entries[i]!;
  const s = (v: string | number | null): string => (v === null ? '' : String(v));
  return [LOG[i]![0], localTime, s(e.user), e.client, e.group, e.method, e.scheme, e.host, s(e.path), e.categories, e.action, e.ruleKind, s(e.rule),
    s(e.status), s(e.up), s(e.down), s(e.ms), s(e.term), s(e.alert), String(e.id)];
}

const HEADER = ['time', 'localTime', 'user', 'client', 'group', 'method', 'scheme', 'host', 'path', 'categories', 'action', 'ruleKind', 'rule',
  'status', 'up', 'down', 'ms', 'term', 'alert', 'id'];

/** A strict RFC 4180 reader: CRLF after every record, quoted fields with "" for a quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        for (i++; ; i++) {
          if (i >= text.length) throw new Error('unterminated quote');
          if (text[i] === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (text[i] === '"') { i++; break; } else field += text[i];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
          if (text[i] === '"' || text[i] === '\n') throw new Error(`unquoted ${JSON.stringify(text[i])} at ${i}`);
          field += text[i++];
        }
      }
      fields.push(field);
      if (text[i] === ',') { i++; continue; }
      if (text.slice(i, i + 2) !== '\r\n') throw new Error(`expected CRLF at ${i}`);
      i += 2;
      break;
    }
    records.push(fields);
  }
  return records;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const dbFile = join(data, 'schoolgate.db');

beforeAll(() => {
  const db = openDatabase(data);
  new TrafficWriter(db, 'Europe/London').write(entries.map((e) => toTuple(e, e.id)));
  db.close();
});

describe('schoolgate export', () => {
  it('exports a person\'s school day as RFC 4180 CSV, quoting commas, quotes and line breaks', async () => {
    const before = sha256(dbFile);
    const run = await schoolgate(['export', '--user', 'AMY', '--from', '2026-06-10', '--to', '2026-06-10', '--data', data]);
    expect(run.stderr).toBe('5 rows: user AMY, 2026-06-09T23:00:00.000Z to 2026-06-10T23:00:00.000Z\n');
    expect(run.code).toBe(0);
    expect(parseCsv(run.stdout)).toEqual([
      HEADER,
      record(1, '2026-06-10 00:00:00'), record(2, '2026-06-10 09:30:00'), record(3, '2026-06-10 09:45:00'), record(5, '2026-06-10 13:00:00'),
      record(6, '2026-06-10 23:59:59'),
    ]);
    // The awkward fields as they appear in the file.
    expect(run.stdout).toContain(',"/a,b ""c""\nd",,allow,');
    expect(run.stdout).toContain(',"say ""hello"", then\r\nleave",');
    expect(run.stdout).toContain(',"gambling,adult",block,level,"KS2 filter level: gambling, adult are blocked",403,0,0,0,,12,');
    // Nothing written: the file is as it was, and the write-ahead log a reader opens stays empty.
    expect(sha256(dbFile)).toBe(before);
    expect(statSync(`${dbFile}-wal`).size).toBe(0);
  });

  it('exports a device as a JSON array, one row a line, with ISO times in school time', async () => {
    const run = await schoolgate(['export', '--ip', '10.1.2.6', '--from', '2026-06-10T10:00', '--to', '2026-06-10T14:00', '--json', '--data', data]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toHaveLength(5); // [, two rows, ], and the final newline
    const e4 = entries[4]!;
    const e5 = entries[5]!;
    expect(JSON.parse(run.stdout)).toEqual([
      {
        time: '2026-06-10T09:15:00.000Z', localTime: '2026-06-10 10:15:00', user: 'ben', client: '10.1.2.6', group: 'ks2', method: 'GET', scheme: 'http',
        host: 'www.bbc.co.uk', path: '/bens-page', categories: ['news'], action: 'allow', ruleKind: 'default', rule: null, status: 200, up: 300,
        down: 5000, ms: 40, term: null, alert: null, id: e4.id,
      },
      {
        time: '2026-06-10T12:00:00.000Z', localTime: '2026-06-10 13:00:00', user: 'Amy', client: '10.1.2.6', group: 'ks2', method: 'GET', scheme: 'http',
        host: 'example.org', path: '/a,b "c"\nd', categories: [], action: 'allow', ruleKind: 'default', rule: null, status: 200, up: 300,
        down: 5000, ms: 40, term: null, alert: null, id: e5.id,
      },
    ]);
    const none = await schoolgate(['export', '--user', 'nobody', '--from', '2026-06-10', '--to', '2026-06-11', '--json', '--data', data]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);
    expect(none.stderr).toMatch(/^0 rows: user nobody/);
  });

  it('reads dates and times in the configured school time zone', async () => {
    const config = join(tmp.dir, 'utc.yaml');
    writeFileSync(config, `categories: ${ROOT}/config/categories.yaml\nschool:\n  timezone: UTC\n`);
    const run = await schoolgate(['export', '--user', 'amy', '--from', '2026-06-10', '--to', '2026-06-10', '--csv', '--config', config, '--data', data]);
    expect(run.code).toBe(0);
    expect(parseCsv(run.stdout).slice(1).map((r) => [r[0], r[1], r[8]])).toEqual([
      ['2026-06-10T08:30:00.000Z', '2026-06-10 08:30:00', '/search?q=%22quoted%22,comma'],
      ['2026-06-10T08:45:00.000Z', '2026-06-10 08:45:00', ''],
      ['2026-06-10T12:00:00.000Z', '2026-06-10 12:00:00', '/a,b "c"\nd'],
      ['2026-06-10T22:59:59.999Z', '2026-06-10 22:59:59', '/last-moment'],
      ['2026-06-10T23:00:00.000Z', '2026-06-10 23:00:00', '/the-next-day'],
    ]);
    const zoned = await schoolgate(['export', '--user', 'amy', '--from', '2026-06-09T22:59:59.999Z', '--to', '2026-06-09T23:00:00.001Z', '--data', data]);
    expect(parseCsv(zoned.stdout).slice(1).map((r) => r[8])).toEqual(['/the-day-before', '/just-after-midnight']);
  });

  it('refuses what it cannot answer, with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--user', 'amy', '--ip', '10.1.2.5', '--from', '2026-06-10', '--to', '2026-06-11'], /give --user USERNAME or --ip ADDRESS/],
      [['--from', '2026-06-10', '--to', '2026-06-11'], /give --user USERNAME or --ip ADDRESS/],
      [['--user', 'amy', '--to', '2026-06-11'], /give --from and --to/],
      [['--user', 'amy', '--from', '2026-02-30', '--to', '2026-03-01'], /--from: "2026-02-30" is not a date/],
      [['--user', 'amy', '--from', 'yesterday', '--to', '2026-03-01'], /--from: "yesterday" is not an ISO time/],
      [['--user', 'amy', '--from', '2026-06-11', '--to', '2026-06-10'], /--to \(2026-06-10T23:00:00.000Z\) must be after --from \(2026-06-10T23:00:00.000Z\)/],
      [['--user', 'amy', '--from', '2026-06-10', '--to', '2026-06-11', '--csv', '--json'], /--csv or --json, not both/],
    ];
    const runs = await Promise.all(cases.map(([args]) => schoolgate(['export', ...args, '--data', data])));
    runs.forEach((run, i) => {
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
    });
    const missing = await schoolgate(['export', '--user', 'amy', '--from', '2026-06-10', '--to', '2026-06-11', '--data', join(tmp.dir, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no database at .*nowhere.*schoolgate\.db: is --data right\?/);
    expect(existsSync(join(tmp.dir, 'nowhere'))).toBe(false);
    const help = await schoolgate(['export', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: schoolgate export (--user U | --ip A) --from T --to T [--csv | --json]');
  });
});
