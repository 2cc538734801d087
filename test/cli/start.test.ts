// `schoolgate start` as a school meets it: a port in use stops it cleanly with the setting to
// change, the proxy and the staff app answer over IPv6 as well as IPv4, `ca init` turns HTTPS
// inspection on in the running proxy without a restart, and an unblock approved by another
// process reaches the running proxy. The real command, in a child process.
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, viaProxy, writeTestConfig } from '../helpers/proxy.js';
import { openDatabase } from '../../src/store/db.js';
import { UnblockStore } from '../../src/store/unblocks.js';
import { eventually, unusedPort } from '../helpers/raw-http.js';

const tmp = tempDir('schoolgate-start-');
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);
const NETWORKS = 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n    - { cidr: "::1/128", group: ks2 }\n';

afterAll(() => tmp.cleanup());

async function start(configFile: string, data: string, extra: string[] = []) {
  const p = spawnSchoolgate(['start', '--config', configFile, '--data', data, '--port', '0', ...extra]);
  const line = await p.waitFor(/Schoolgate is running/);
  const admin = await p.waitFor(/staff app listening/);
  return { ...p, port: (JSON.parse(line) as { port: number }).port, adminPort: (JSON.parse(admin) as { port: number }).port };
}

/** A GET straight to `host`:`port` (origin form), the status and body. */
function get(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Holds a port on every address, as another program would. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: false }, r));
  return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((r) => server.close(() => r())) };
}

describe('a port in use', () => {
  it.each([
    ['the proxy\'s', '--port', 'proxy.port'],
    ['the staff app\'s', '--admin-port', 'admin.port'],
  ])('%s: exits 2 before serving anything, naming the setting and the flag', async (_label, flag, setting) => {
    const held = await holdPort();
    try {
      const other = flag === '--port' ? ['--admin-port', String(await unusedPort())] : ['--port', String(await unusedPort())];
      const r = await schoolgate(['start', '--config', writeTestConfig(tmp.dir, NETWORKS), '--data', freshData(), ...other, flag, String(held.port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`:${held.port} is already in use`);
      expect(r.stderr).toContain(setting);
      expect(r.stderr).toContain(flag);
      // No stack trace: a sentence a technician can act on.
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).not.toMatch(/Schoolgate is running|staff app listening/);
    } finally {
      await held.release();
    }
  });
});

describe('IPv6', () => {
  it('the proxy and the staff app answer on IPv6 and IPv4 by default', async () => {
    const p = await start(writeTestConfig(tmp.dir, NETWORKS), freshData());
    try {
      for (const host of ['::1', '127.0.0.1']) {
        expect(await get(host, p.port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
        expect((await get(host, p.adminPort, '/login')).status).toBe(200);
      }
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('proxy.listen chooses the addresses: IPv4 only leaves IPv6 clients unanswered', async () => {
    const p = await start(writeTestConfig(tmp.dir, `${NETWORKS}  listen: 127.0.0.1\n`), freshData());
    try {
      expect((await get('127.0.0.1', p.port, '/healthz')).status).toBe(200);
      await expect(get('::1', p.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});

describe('the school CA in a running proxy', () => {
  it('ca init turns HTTPS inspection on without a restart', async () => {
    const data = freshData();
    const config = writeTestConfig(tmp.dir, NETWORKS);
    const p = await start(config, data);
    try {
      expect((await get('127.0.0.1', p.port, '/ca.crt')).status).toBe(404);
      const init = await schoolgate(['ca', 'init', '--config', config, '--data', data]);
      expect(init.code).toBe(0);
      expect(init.stdout).toMatch(/asked Schoolgate \(pid \d+\) to reload/);
      // The reload runs in the proxy after the signal: wait for it to have taken the CA.
      expect(await eventually(async () => (await get('127.0.0.1', p.port, '/ca.crt')).status === 200)).toBe(true);
      // The certificate served is the one ca init made.
      const exported = await schoolgate(['ca', 'export', '--config', config, '--data', data]);
      expect((await get('127.0.0.1', p.port, '/ca.pem')).body.trim()).toBe(exported.stdout.trim());
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});

describe('a restart', () => {
  it('reads the phrase rules the first start compiled from the state folder; a command beside it reads them too', async () => {
    const data = freshData();
    const config = writeTestConfig(tmp.dir, NETWORKS);
    const phrasesFrom = async (): Promise<string> => {
      const p = await start(config, data);
      try {
        return (JSON.parse(await p.waitFor(/"msg":"lists loaded"/)) as { phrases: string }).phrases;
      } finally {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    };
    expect(await phrasesFrom()).toBe('compiled');
    expect(await phrasesFrom()).toBe('cache');
    const r = await schoolgate(['classify', 'https://www.google.com/search?q=how+to+kill+myself', '--json', '--config', config, '--data', data]);
    expect(r.code).toBe(0);
    const flagged = (JSON.parse(r.stdout) as { flagged: { category: string; severity: string }[] }).flagged;
    expect(flagged).toContainEqual(expect.objectContaining({ category: 'suicide', severity: 'danger' }));
  });
});

describe('an unblock from another process', () => {
  it('reaches the running proxy once committed, and so does its revocation', async () => {
    const data = freshData();
    const origin = await startOrigin();
    const config = writeTestConfig(tmp.dir, `${NETWORKS}  resolve:\n    "*.selftest.invalid": 127.0.0.1\n`);
    const p = await start(config, data);
    // This test's process is the other writer, on its own connection to the running proxy's database.
    const db = openDatabase(data);
    try {
      const pupil = () => viaProxy(p.port, `http://games.selftest.invalid:${origin.port}/`, { localAddress: '127.0.0.9' });
      expect((await pupil()).status).toBe(403);
      const store = new UnblockStore(db);
      const now = Date.now();
      const { id } = store.request({
        requestedBy: 'mr.jones', url: 'http://games.selftest.invalid/', site: 'games.selftest.invalid', categories: ['games'], reference: null,
        target: { kind: 'group', group: 'ks2' }, reason: 'Year 5 coding lesson', from: new Date(now - 60_000), until: new Date(now + 3_600_000), approverRole: 'technician',
      });
      store.approve(id, 'it.tech');
      // The proxy logs each snapshot it swaps in, with the unblocks it holds.
      await p.waitFor(/"unblocks":1,"exclusions"/);
      expect((await pupil()).status).toBe(200);
      store.revoke(id, 'it.tech');
      await p.waitFor(/"reason":"schoolgate.db changed","unblocks":0,"exclusions"/);
      expect((await pupil()).status).toBe(403);
    } finally {
      db.close();
      p.child.kill('SIGTERM');
      await p.exited;
      await closeAll(origin.server);
    }
  });
});
