// proxy.workers: 2 — the real `schoolgate start`, its two proxy worker processes sharing the port
// (node:cluster hands new connections to them in turn, so consecutive fresh connections land on
// both). What must agree between them agrees: a warn click-through made on one connection lets
// every other through, sign-in failures count together towards the lock-out, the one traffic log
// holds both workers' rows (a worker's ids are those ≡ its slot mod 2), an alert is stored once
// and folded, a SIGHUP reload reaches both (the lists built once, in the primary's child process), and a worker killed with SIGKILL is replaced while the
// other's connections carry on.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { readDb } from '../helpers/read-db.js';
import { closeAll, startOrigin, viaProxy, writeTestConfig, type SeenRequest } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';

const tmp = tempDir('schoolgate-workers-');
let origin: http.Server;
let originPort = 0;
let seen: SeenRequest[];

beforeAll(async () => {
  ({ server: origin, port: originPort, seen } = await startOrigin());
});

afterAll(async () => {
  await closeAll(origin);
  tmp.cleanup();
});

// ks2 devices are 127.0.0.x, staff devices (warned about games) 127.0.1.x; 127.0.2.x must sign in.
const yaml = (workers: number): string => `proxy:\n  workers: ${workers}\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n    - { cidr: 127.0.1.0/24, group: staff }\n`
  + '    - { cidr: 127.0.2.0/24, group: ks2, auth: required }\n  resolve:\n    "*.selftest.invalid": 127.0.0.1\n    www.google.com: 127.0.0.1\n';

interface Running {
  readonly p: ReturnType<typeof spawnSchoolgate>;
  readonly port: number;
  readonly data: string;
  /** The workers' pids, by slot, as they said they serve. */
  readonly pids: number[];
}

async function start(name: string, workers = 2): Promise<Running> {
  const data = join(tmp.dir, name);
  const p = spawnSchoolgate(['start', '--config', writeTestConfig(tmp.dir, yaml(workers)), '--data', data, '--port', '0', '--admin-port', '0']);
  const line = await p.waitFor(/Schoolgate is running/);
  const serving = p.output().stdout.split('\n').filter((l) => l.includes('"msg":"proxy worker serving"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
  const pids: number[] = [];
  for (const s of serving) pids[s.worker] = s.pid;
  return { p, data, pids, port: (JSON.parse(line) as { port: number }).port };
}

async function stop(r: Running): Promise<void> {
  r.p.child.kill('SIGTERM');
  expect(await r.p.exited).toBe(0);
}

/** The hidden fields of the warn page's form. */
function formFields(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&');
  return { action, fields };
}

/** A request with Basic credentials, on a fresh connection from `from`. */
function signedIn(port: number, url: string, from: string, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    http.request({ host: '127.0.0.1', port, path: url, headers: { 'proxy-authorization': auth }, agent: false, localAddress: from }, (res) => {
      res.resume().on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject).end();
  });
}

describe('proxy.workers: 2', () => {
  let r: Running;
  beforeAll(async () => {
    r = await start('shared');
  });
  afterAll(async () => {
    await stop(r);
  });

  it('serves from two worker processes, besides the primary', () => {
    expect(r.pids.filter((p) => p !== undefined)).toHaveLength(2);
    expect(new Set([...r.pids, r.p.child.pid]).size).toBe(3);
  });

  it('a warn click-through on one connection lets the person through on every other', async () => {
    const games = `http://games.selftest.invalid:${originPort}/level-1`;
    const from = '127.0.1.7';
    const warned = await viaProxy(r.port, games, { localAddress: from });
    expect(warned.status).toBe(403);
    const { action, fields } = formFields(warned.body);
    // The continue goes on a connection of its own (the other worker, as like as not): the token
    // signed by one is accepted by the other.
    const ok = await viaProxy(r.port, action, { method: 'POST', body: new URLSearchParams(fields).toString(), localAddress: from });
    expect(ok.status).toBe(303);
    const before = seen.length;
    // Fresh connections, handed to the workers in turn: every one is let through.
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await viaProxy(r.port, games, { localAddress: from })).status);
    expect(answers).toEqual([200, 200, 200, 200, 200, 200]);
    expect(seen.length).toBe(before + 6);
    // Another device is still warned.
    expect((await viaProxy(r.port, games, { localAddress: '127.0.1.8' })).status).toBe(403);
    // Both workers let it through: their rows (ids by slot) say 'continued'.
    expect(await eventually(() => continuedSlots().size === 2, 20_000)).toBe(true);

    function continuedSlots(): Set<number> {
      // action 'continued' is stored as a number; the rows with the device's path and a 200 are the continued ones.
      const rows = readDb(join(r.data, 'schoolgate.db'), (db) => db.prepare(`SELECT t.id FROM traffic t JOIN clients c ON c.id = t.client
        WHERE c.text = ? AND t.status = 200`).all(from) as { id: number }[]);
      return new Set(rows.map((x) => x.id % 2));
    }
  });

  it('sign-in failures from one device count together towards its lock-out, whichever worker they reach', async () => {
    expect((await schoolgate(['users', 'add', 'amy.test', '--group', 'ks2', '--password-stdin', '--data', r.data], { stdin: 'a long passphrase\n' })).code).toBe(0);
    const url = `http://www.selftest.invalid:${originPort}/`;
    const from = '127.0.2.9';
    // Ten wrong passwords, each on a fresh connection (five to each worker): the tenth is the
    // account's limit, counted across both, and locks it.
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) answers.push(await signedIn(r.port, url, from, 'amy.test', `wrong ${i}`));
    expect(answers).toEqual([...Array(9).fill(407), 403]);
    // Locked out on both workers, even with the right password: each says so.
    const after = r.p.lines() - 1;
    expect([await signedIn(r.port, url, from, 'amy.test', 'a long passphrase'), await signedIn(r.port, url, from, 'amy.test', 'a long passphrase')]).toEqual([403, 403]);
    await Promise.all([0, 1].map((w) => r.p.waitFor(new RegExp(`"worker":${w},.*"msg":"proxy sign-in refused: too many failures from this address"`), after)));
    // Another device signs in as amy.test.
    expect(await signedIn(r.port, url, '127.0.2.10', 'amy.test', 'a long passphrase')).toBe(200);
  });

  it('an alert raised on either worker is stored once, and a second search folds into it', async () => {
    const search = (): Promise<number> => viaProxy(r.port, `http://www.google.com:${originPort}/search?q=i+want+to+kill+myself`, { localAddress: '127.0.0.77' }).then((a) => a.status);
    // Two fresh connections: one to each worker.
    expect([await search(), await search()]).toEqual([200, 200]);
    const alerts = (): { count: number }[] => readDb(join(r.data, 'alerts.db'), (db) => db.prepare("SELECT count FROM alerts WHERE client = '127.0.0.77'").all() as { count: number }[]);
    expect(await eventually(() => alerts()[0]?.count === 2, 20_000)).toBe(true);
    expect(alerts()).toEqual([{ count: 2 }]);
  });

  it('a SIGHUP reload reaches both workers, the lists built once for the three processes', async () => {
    // At start, too, the workers read the primary's build.
    expect(r.p.output().stdout.split('\n').filter((l) => l.includes('"msg":"lists loaded"')).map((l) => (JSON.parse(l) as { tables: string }).tables).sort()).toEqual(['child', 'shared', 'shared']);
    const after = r.p.lines() - 1;
    r.p.child.kill('SIGHUP');
    const reloaded = await Promise.all([0, 1].map((w) => r.p.waitFor(new RegExp(`"worker":${w},.*"msg":"lists reloaded"`), after)));
    expect(reloaded.map((l) => (JSON.parse(l) as { tables: string }).tables)).toEqual(['shared', 'shared']);
    const primary = await r.p.waitFor(/^(?!.*"worker").*"msg":"lists reloaded"/, after);
    expect((JSON.parse(primary) as { tables: string }).tables).toBe('child');
    // The file is removed once both have read it.
    expect(await eventually(() => readdirSync(join(r.data, 'list-tables')).length === 0, 20_000)).toBe(true);
  });
});

describe('a worker that dies', () => {
  it('is replaced; the other worker\'s connections carry on, the new one serves with what the others remember, and the traffic of both is in the one log', async () => {
    const r = await start('killed');
    try {
      // A keep-alive connection held open on each worker, each answered once.
      const held = [keptAlive(r.port), keptAlive(r.port)];
      const before: number[] = [];
      for (const h of held) {
        const a = await h.get(`http://www.selftest.invalid:${originPort}/before`);
        expect(a.status).toBe(200);
        before.push(a.localPort);
      }
      // A warn click-through made before the kill.
      const games = `http://games.selftest.invalid:${originPort}/`;
      const staff = '127.0.1.20';
      const { action, fields } = formFields((await viaProxy(r.port, games, { localAddress: staff })).body);
      expect((await viaProxy(r.port, action, { method: 'POST', body: new URLSearchParams(fields).toString(), localAddress: staff })).status).toBe(303);
      const victim = r.pids[0]!;
      const after = r.p.lines() - 1;
      process.kill(victim, 'SIGKILL');
      const replaced = JSON.parse(await r.p.waitFor(/"msg":"proxy worker serving"/, after)) as { worker: number; pid: number };
      expect(replaced.worker).toBe(0);
      expect(replaced.pid).not.toBe(victim);
      expect(JSON.parse(await r.p.waitFor(/a proxy worker stopped unexpectedly/, after))).toMatchObject({ worker: 0, pid: victim, signal: 'SIGKILL' });
      // The connection on the killed worker is gone (the request fails, or the agent has seen it
      // close and opens another); the other one is answered on the very same connection.
      const outcomes = await Promise.all(held.map((h) => h.get(`http://www.selftest.invalid:${originPort}/after`).catch(() => null)));
      const same = outcomes.filter((o, i) => o?.status === 200 && o.localPort === before[i]);
      expect(same).toHaveLength(1);
      // Fresh connections reach both workers again, the new one included.
      for (let i = 0; i < 4; i++) expect((await viaProxy(r.port, `http://www.selftest.invalid:${originPort}/fresh-${i}`)).status).toBe(200);
      // The new worker started from what the others remember: the continue made before the kill holds on it too.
      for (let i = 0; i < 4; i++) expect((await viaProxy(r.port, games, { localAddress: staff })).status).toBe(200);
      for (const h of held) h.close();
      await stop(r);
      const slots = readDb(join(r.data, 'schoolgate.db'), (db) => (db.prepare(`SELECT t.id FROM traffic t JOIN paths p ON p.id = t.path WHERE p.text LIKE '/fresh-%'`).all() as { id: number }[]).map((x) => x.id % 2));
      expect(slots.sort()).toEqual([0, 0, 1, 1]);
    } finally {
      if (r.p.child.exitCode === null) r.p.child.kill('SIGKILL');
    }
  });
});

describe('alerts of a worker killed with SIGKILL', () => {
  it('are kept by its journal and stored by the worker that replaces it, once each', async () => {
    const r = await start('killed-alerts');
    const blocker = new BetterSqlite3(join(r.data, 'alerts.db'));
    try {
      // With alerts.db locked, the answers come back with the alerts only in the journals.
      blocker.exec('BEGIN IMMEDIATE');
      const devices = ['127.0.0.81', '127.0.0.82'];
      // Two fresh connections: one to each worker.
      for (const d of devices) expect((await viaProxy(r.port, `http://www.google.com:${originPort}/search?q=i+want+to+kill+myself`, { localAddress: d })).status).toBe(200);
      const after = r.p.lines() - 1;
      process.kill(r.pids[0]!, 'SIGKILL');
      await r.p.waitFor(/a proxy worker stopped unexpectedly/, after);
      blocker.exec('COMMIT');
      // The replacement's writer stores what the killed worker journalled before it serves.
      expect(JSON.parse(await r.p.waitFor(/"worker":0,.*"msg":"alerts: journal replayed"/, after))).toMatchObject({ stored: 1, already: 0 });
      await r.p.waitFor(/"worker":0,.*"msg":"proxy worker serving"/, after);
      const stored = (): { client: string; count: number }[] => readDb(join(r.data, 'alerts.db'), (db) => db.prepare('SELECT client, count FROM alerts ORDER BY client').all() as { client: string; count: number }[]);
      expect(await eventually(() => stored().length === 2, 20_000)).toBe(true);
      expect(stored()).toEqual(devices.map((client) => ({ client, count: 1 })));
      await stop(r);
    } finally {
      blocker.close();
      if (r.p.child.exitCode === null) r.p.child.kill('SIGKILL');
    }
  });
});

/** A keep-alive connection to the proxy: requests in turn on one socket, each answer with the local port it came on. */
function keptAlive(port: number): { get(url: string): Promise<{ status: number; localPort: number }>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    get: (url) => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: url, agent }, (res) => {
        const localPort = res.socket.localPort ?? 0;
        res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, localPort }));
      }).on('error', reject);
    }),
    close: () => agent.destroy(),
  };
}

describe('starting with proxy.workers: 2', () => {
  /** The "lists loaded" lines of a start's log, in order: who loaded (the primary, or worker N) and where its phrase rules came from; and where the first worker said it serves. */
  const loads = (r: Running): { who: string; phrases: string }[] => r.p.output().stdout.split('\n')
    .filter((l) => l.includes('"msg":"lists loaded"') || l.includes('"msg":"proxy worker serving"'))
    .map((l) => JSON.parse(l) as { msg: string; worker?: number; phrases?: string })
    .map((j) => ({ who: j.msg === 'proxy worker serving' ? 'serving' : j.worker === undefined ? 'primary' : 'worker', phrases: j.phrases ?? '' }));

  it('compiles the phrase rules once, in the primary, on a first start, and on a restart lets the workers serve before the primary loads its lists', async () => {
    const first = await start('first-and-again');
    const once = loads(first);
    await stop(first);
    // First: the primary compiles and keeps the rules before forking; each worker reads them back.
    expect(once[0]).toEqual({ who: 'primary', phrases: 'compiled' });
    expect(once.filter((l) => l.who === 'worker')).toEqual([{ who: 'worker', phrases: 'cache' }, { who: 'worker', phrases: 'cache' }]);
    const again = await start('first-and-again');
    const twice = loads(again);
    await stop(again);
    // Again: the workers come first (both serve), the primary's lists last, all from what was kept.
    expect(twice.filter((l) => l.who === 'serving')).toHaveLength(2);
    expect(twice.at(-1)).toEqual({ who: 'primary', phrases: 'cache' });
    expect(twice.filter((l) => l.who === 'primary')).toHaveLength(1);
    expect(twice.filter((l) => l.who === 'worker').every((l) => l.phrases === 'cache')).toBe(true);
  });
});
