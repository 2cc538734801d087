// Proxy authentication end to end: users in a real SQLite store, real curl through the proxy.
import { execFile } from 'node:child_process';
import type http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorFor } from '../../src/identity/users-auth.js';
import type { Proxy } from '../../src/proxy/server.js';
import { openDatabase } from '../../src/store/db.js';
import { UserStore } from '../../src/store/users.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy } from '../helpers/proxy.js';

const run = promisify(execFile);
const tmp = tempDir();
const db = openDatabase(join(tmp.dir, 'data'));
let origin: http.Server;
let originPort = 0;
let required: Proxy;
let optional: Proxy;
let requiredPort = 0;
let optionalPort = 0;

beforeAll(async () => {
  const users = new UserStore(db, { groups: new Set(['ks1', 'ks2', 'staff', 'guest']) });
  await users.add({ username: 'mr.teacher', group: 'staff', password: 'correct horse battery' });
  await users.add({ username: 'old.teacher', group: 'staff', password: 'another long one' });
  users.disable('old.teacher');
  ({ server: origin, port: originPort } = await startOrigin());
  const base = `proxy:\n  allowPrivate: [127.0.0.0/8]\n  networks:\n    - { cidr: 127.0.0.1/32, group: ks2, auth: `;
  ({ proxy: required, port: requiredPort } = await startProxy(tmp.dir, `${base}required }\n`, authenticatorFor(users)));
  ({ proxy: optional, port: optionalPort } = await startProxy(tmp.dir, `${base}optional }\n`, authenticatorFor(users)));
});

afterAll(async () => {
  await closeAll(origin, required, optional);
  db.close();
  tmp.cleanup();
});

const curl = (args: string[]) => run('curl', ['-s', '-D', '-', '--max-time', '20', ...args]).then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '');

describe('proxy authentication', () => {
  it('asks for credentials where the network requires them', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${requiredPort}`, `http://127.0.0.1:${originPort}/`]);
    expect(out).toMatch(/^HTTP\/1\.1 407/);
    expect(out).toMatch(/proxy-authenticate: Basic realm="Schoolgate"/i);
  });

  it('lets a signed-in user through, filtered as their own group', async () => {
    const ok = await curl(['-x', `http://127.0.0.1:${requiredPort}`, '-U', 'mr.teacher:correct horse battery', `http://127.0.0.1:${originPort}/x`]);
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok).toContain('hello GET /x');
    const drugs = await curl(['-x', `http://127.0.0.1:${requiredPort}`, '-U', 'MR.TEACHER:correct horse battery', 'http://drugs.selftest.invalid/']);
    expect(drugs).toMatch(/x-schoolgate-reason: warn: Staff filter level: drugs is warned/i);
  });

  it('refuses a wrong password and a disabled user', async () => {
    expect(await curl(['-x', `http://127.0.0.1:${requiredPort}`, '-U', 'mr.teacher:wrong guess', `http://127.0.0.1:${originPort}/`])).toMatch(/^HTTP\/1\.1 407/);
    expect(await curl(['-x', `http://127.0.0.1:${requiredPort}`, '-U', 'old.teacher:another long one', `http://127.0.0.1:${originPort}/`])).toMatch(/^HTTP\/1\.1 407/);
  });

  it('asks before a CONNECT tunnel too', async () => {
    const out = await run('curl', ['-s', '-v', '--max-time', '20', '-x', `http://127.0.0.1:${requiredPort}`, 'https://example.test/']).then((r) => r.stderr, (e: { stderr: string }) => e.stderr);
    expect(out).toMatch(/< HTTP\/1\.1 407/);
  });

  it('on an optional network, uses the network group until someone signs in', async () => {
    const anon = await curl(['-x', `http://127.0.0.1:${optionalPort}`, 'http://drugs.selftest.invalid/']);
    expect(anon).toMatch(/x-schoolgate-reason: KS2 pupils filter level: drugs is blocked/i);
    const signed = await curl(['-x', `http://127.0.0.1:${optionalPort}`, '-U', 'mr.teacher:correct horse battery', 'http://drugs.selftest.invalid/']);
    expect(signed).toMatch(/x-schoolgate-reason: warn: Staff filter level: drugs is warned/i);
  });
});
