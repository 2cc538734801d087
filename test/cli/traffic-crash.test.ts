// The traffic log survives `kill -9`: the real `schoolgate start`, real requests through it, the
// process killed, then started again. Rows the killed process had committed, or handed to a spill
// file, are all there (the tests wait until they are: how soon is not theirs to measure); a spill
// file left by the killed process is replayed; nothing is stored twice.
import http from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, writeTestConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';

const tmp = tempDir();
let origin: http.Server;
let originPort = 0;
let configFile = '';
const FLUSH_MS = 50;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  configFile = writeTestConfig(tmp.dir, `log:\n  flushMs: ${FLUSH_MS}\n  batchRows: 50\n  maxPendingRows: 100\nproxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    "*.test": 127.0.0.1\n`);
});

afterAll(async () => {
  await closeAll(origin);
  tmp.cleanup();
});

async function start(data: string) {
  const p = spawnSchoolgate(['start', '--config', configFile, '--data', data, '--port', '0']);
  const line = await p.waitFor(/Schoolgate is running/);
  return { p, port: (JSON.parse(line) as { port: number }).port };
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

/** Sends `count` requests, `parallel` at a time; returns the paths that were answered. */
async function browse(port: number, count: number, tag: string): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, async (_, k) => {
      const path = `/${tag}/${i + k}`;
      if ((await get(port, `http://site${(i + k) % 13}.test:${originPort}${path}`)) === 200) done.push(path);
    }));
  }
  return done;
}

function storedPaths(data: string): string[] {
  const db = new BetterSqlite3(join(data, 'schoolgate.db'), { readonly: true });
  try {
    return db.prepare('SELECT p.text FROM traffic t JOIN paths p ON p.id = t.path ORDER BY t.id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** True when the spill files in `data` hold a row for every one of `paths`. */
function spilledText(data: string, paths: readonly string[]): boolean {
  const dir = join(data, 'traffic-spill');
  if (!existsSync(dir)) return false;
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  return paths.every((p) => text.includes(JSON.stringify(p)));
}

describe('the traffic log after kill -9', () => {
  it('keeps every row recorded before the window, and stores none twice', async () => {
    const data = join(tmp.dir, 'quiet');
    const first = await start(data);
    const answered = await browse(first.port, 600, 'a');
    expect(answered.length).toBe(600);
    // Every row committed. A batch committed in another process is announced nowhere, so the
    // database is read until all are there; what is tested is that kill -9 then loses none and
    // the next start stores none twice, not how soon they were written.
    expect(await eventually(() => storedPaths(data).length >= answered.length)).toBe(true);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    const second = await start(data);
    second.p.child.kill('SIGTERM');
    expect(await second.p.exited).toBe(0);
    const stored = storedPaths(data);
    expect(stored.sort()).toEqual([...answered].sort());
  });

  it('replays the spill file a killed process left while its database was locked', async () => {
    const data = join(tmp.dir, 'locked');
    openDatabase(data).close();
    const first = await start(data);
    // Another program holds the write lock: the writer waits, the proxy spills to a file.
    const blocker = new BetterSqlite3(join(data, 'schoolgate.db'));
    blocker.exec('BEGIN IMMEDIATE');
    const answered = await browse(first.port, 400, 'b');
    // Every answered row is in the spill file, handed to the operating system (so kill -9 cannot
    // lose it). The other process announces no write, so the files are read until all are there.
    expect(await eventually(() => spilledText(data, answered))).toBe(true);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    blocker.exec('COMMIT');
    blocker.close();
    const second = await start(data);
    await second.p.waitFor(/spill file replayed/);
    second.p.child.kill('SIGTERM');
    expect(await second.p.exited).toBe(0);
    const stored = storedPaths(data);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.sort()).toEqual([...answered].sort());
    expect(readdirSync(join(data, 'traffic-spill'))).toEqual([]);
  });
});
