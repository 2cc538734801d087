// `schoolgate start` stops on SIGTERM and the process exits, whatever Redis is doing: with Redis
// up (its connections, the BullMQ worker's included, are closed), with Redis gone before the
// signal, and with a Redis that was never there. A Schoolgate that fails to start (its port is
// taken) closes what it opened and exits too. The pid file is removed only by the process that
// wrote it. Each run is the real command in a child process; a process that does not exit is
// caught by the test's timeout.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually, unusedPort } from '../helpers/raw-http.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';

const tmp = tempDir('schoolgate-stop-');
let redis: RedisServer;
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);
const NETWORKS = 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n';
/** Logged by a Schoolgate that stopped with something still keeping the process alive. */
const LEFT_OPEN = /still open; exiting anyway/;

function configWithRedis(url: string): string {
  return writeTestConfig(tmp.dir, `redis:\n  url: ${url}\n  prefix: sgstop-${randomBytes(6).toString('hex')}\n${NETWORKS}`);
}

async function start(configFile: string, data: string, port = '0') {
  const p = spawnSchoolgate(['start', '--config', configFile, '--data', data, '--port', port]);
  const line = await p.waitFor(/Schoolgate is running/);
  return { ...p, port: (JSON.parse(line) as { port: number }).port };
}

/** The connections to `server` other than the one asking. */
async function clientsOf(server: RedisServer): Promise<number> {
  const probe = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return (await probe.client('LIST') as string).trim().split('\n').length - 1;
  } finally {
    probe.disconnect();
  }
}

beforeAll(async () => {
  redis = await redisServer();
});

afterEach(async () => {
  if (!redis.running) await redis.start();
});

afterAll(async () => {
  await redis.stop();
  tmp.cleanup();
});

describe('schoolgate start stops on SIGTERM', () => {
  it('with Redis up: every connection closed, the process exits 0', async () => {
    const before = await clientsOf(redis);
    const p = await start(configWithRedis(redis.url), freshData());
    // The relay's connection, the BullMQ worker's and its blocking one: all open before the signal.
    expect(await eventually(async () => (await clientsOf(redis)) >= before + 3)).toBe(true);
    p.child.kill('SIGTERM');
    // With what it printed, so a failure says why.
    expect(await p.exited, `${p.output().stdout.slice(-6000)}\n${p.output().stderr.slice(-3000)}`).toBe(0);
    expect(p.output().stdout).toMatch(/"msg":"stopped"/);
    expect(p.output().stdout).not.toMatch(LEFT_OPEN);
  });

  it('with Redis stopped before the signal: the process exits 0', async () => {
    const p = await start(configWithRedis(redis.url), freshData());
    expect(p.output().stdout).toMatch(/"queue":"bullmq"/);
    await redis.stop();
    p.child.kill('SIGTERM');
    // With what it printed, so a failure says why.
    expect(await p.exited, `${p.output().stdout.slice(-6000)}\n${p.output().stderr.slice(-3000)}`).toBe(0);
    expect(p.output().stdout).toMatch(/"msg":"stopped"/);
    // Redis gone mid-run: BullMQ may wait until the cut for sockets that will never answer, and
    // its reconnect timers can outlive the stop; then the last-resort exit ends the process at
    // 10 s, still with code 0 (README, Operations). Seen on a loaded machine; not a hang.
  });

  it('with a Redis that never answered: the process exits 0', async () => {
    const p = await start(configWithRedis(`redis://127.0.0.1:${await unusedPort()}`), freshData());
    expect(p.output().stdout).toMatch(/Redis is not reachable/);
    p.child.kill('SIGTERM');
    // With what it printed, so a failure says why.
    expect(await p.exited, `${p.output().stdout.slice(-6000)}\n${p.output().stderr.slice(-3000)}`).toBe(0);
    expect(p.output().stdout).toMatch(/"msg":"stopped"/);
    expect(p.output().stdout).not.toMatch(LEFT_OPEN);
  });
});

describe('the pid file', () => {
  it('is left alone when another process has written its own since', async () => {
    const data = freshData();
    const a = await start(writeTestConfig(tmp.dir, NETWORKS), data);
    const file = join(data, 'schoolgate.pid');
    expect(readFileSync(file, 'utf8').trim()).toBe(String(a.child.pid));
    // Instance B (this test runner's pid stands in for it) started on the same data folder.
    writeFileSync(file, `${process.pid}\n`);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
  });

  it('a second Schoolgate whose port is taken exits 2, closing what it opened, and leaves the first one\'s pid file', async () => {
    const data = freshData();
    const config = configWithRedis(redis.url);
    const a = await start(config, data);
    const file = join(data, 'schoolgate.pid');
    const b = spawnSchoolgate(['start', '--config', config, '--data', data, '--port', String(a.port)]);
    expect(await b.exited).toBe(2);
    expect(b.output().stderr).toMatch(/already in use/);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(a.child.pid));
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
