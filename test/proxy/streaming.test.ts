// 1 GiB down and 1 GiB up through the proxy in constant memory. The proxy runs in a process of
// its own (test/helpers/proxy-process.ts) so that its RSS is its own; the origin and the client
// run here, and every byte is counted and hashed on both sides.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import http from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/lists.js';
import { closeAll, listen } from '../helpers/proxy.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GiB = 1024 ** 3;
const MB = 1024 * 1024;
const BLOCK = 64 * 1024;
/**
 * The stream is GiB / BLOCK blocks, each its 8-byte index followed by the same 64 KiB - 8 tail
 * (one buffer, reused): constant memory on the sending side, and a dropped, repeated or
 * reordered block changes the hash.
 */
const TAIL = randomBytes(BLOCK - 8);

/** Writes `total` bytes of blocks to `out`, minding backpressure, hashing what it writes; ends `out`. */
function sendBlocks(out: Writable, total: number, hash: Hash): Promise<void> {
  return new Promise((done, fail) => {
    let index = 0;
    const write = (): void => {
      while (index * BLOCK < total) {
        const head = Buffer.alloc(8);
        head.writeBigUInt64BE(BigInt(index++));
        hash.update(head).update(TAIL);
        out.write(head);
        if (!out.write(TAIL)) return void out.once('drain', write);
      }
      out.end(() => done());
    };
    out.on('error', fail);
    write();
  });
}

/** Reads `input` to its end, counting and hashing. */
function receive(input: Readable): Promise<{ bytes: number; sha: string }> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    let bytes = 0;
    input.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    input.on('end', () => done({ bytes, sha: hash.digest('hex') }));
    input.on('error', fail);
  });
}

/** The proxy in its own process: its port, and its RSS on request. */
interface ProxyProcess {
  readonly port: number;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

async function startProxyProcess(dir: string, extra: string): Promise<ProxyProcess> {
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/proxy-process.ts', dir, extra], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((line: Record<string, number>) => void)[] = [];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Record<string, number>));
  const next = (): Promise<Record<string, number>> => new Promise((ok, fail) => {
    waiting.push(ok);
    void exited.then(() => fail(new Error('the proxy process exited')));
  });
  const { port } = await next();
  if (port === undefined) throw new Error('the proxy process did not say its port');
  return {
    port,
    rss: async () => {
      const reply = next();
      child.stdin.write('rss\n');
      const { rss } = await reply;
      if (rss === undefined) throw new Error('the proxy process did not say its RSS');
      return rss;
    },
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Samples the proxy's RSS every 250 ms while `transfer` runs; its result, the peak, and the time taken. */
async function sampled<T>(p: ProxyProcess, transfer: () => Promise<T>): Promise<{ result: T; peak: number; samples: number; seconds: number }> {
  let peak = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await p.rss());
      samples++;
      // A sampling period, not a wait for anything: the assertions hold however many samples a
      // slow machine takes (the first is taken at once, and the peak once more at the end).
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const started = process.hrtime.bigint();
  try {
    const result = await transfer();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { result, peak: Math.max(peak, await p.rss()), samples, seconds };
  } finally {
    sampling = false;
    await sampler;
  }
}

const tmp = tempDir();
let proxy: ProxyProcess;
let origin: http.Server;
let originPort = 0;
/** What the origin sent for each download, and what it received for each upload. */
const sent = new Map<string, Promise<string>>();

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size'));
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      const hash = createHash('sha256');
      const done = sendBlocks(res, size, hash).then(() => hash.digest('hex'));
      done.catch(() => {});
      sent.set(req.url ?? '', done);
      return;
    }
    void receive(req).then((got) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(got));
    }, () => res.destroy());
  });
  originPort = await listen(origin);
  proxy = await startProxyProcess(tmp.dir, 'proxy:\n  networks:\n    - { cidr: 127.0.0.1/32, group: ks2 }\n  allowPrivate: [127.0.0.0/8]\n');
});

afterAll(async () => {
  await proxy?.stop();
  await closeAll(origin);
  tmp.cleanup();
});

/** GET through the proxy; what arrived. */
function download(path: string): Promise<{ status: number; bytes: number; sha: string }> {
  return new Promise((done, fail) => {
    const req = http.get({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${originPort}${path}`, agent: false }, (res) => {
      receive(res).then((got) => done({ status: res.statusCode ?? 0, ...got }), fail);
    });
    req.on('error', fail);
  });
}

/** POST `size` bytes through the proxy; what the origin says it received, and what was sent. */
function upload(size: number): Promise<{ status: number; received: { bytes: number; sha: string }; sha: string }> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    const req = http.request({
      host: '127.0.0.1', port: proxy.port, method: 'POST', path: `http://127.0.0.1:${originPort}/upload?size=${size}`, agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        try {
          done({ status: res.statusCode ?? 0, received: JSON.parse(Buffer.concat(chunks).toString()) as { bytes: number; sha: string }, sha: hash.digest('hex') });
        } catch (err) {
          fail(err);
        }
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    sendBlocks(req, size, hash).catch(fail);
  });
}

/**
 * The proxy's RSS after a first small download and upload (so undici, the parsers and the
 * buffers they keep are all in it), taken once; with what those transfers delivered.
 */
let warm: Promise<{ baseline: number; down: Awaited<ReturnType<typeof download>>; downSha: string | undefined; up: Awaited<ReturnType<typeof upload>> }> | undefined;
function warmUp(): NonNullable<typeof warm> {
  warm ??= (async () => {
    const path = `/download?size=${8 * MB}&warm`;
    const down = await download(path);
    const up = await upload(8 * MB);
    return { down, downSha: await sent.get(path), up, baseline: await proxy.rss() };
  })();
  return warm;
}

describe('streaming through the proxy in constant memory', () => {
  it('warms up: 8 MiB down and up arrive intact (the baseline RSS is taken after)', async () => {
    const { down, downSha, up, baseline } = await warmUp();
    expect(down).toEqual({ status: 200, bytes: 8 * MB, sha: downSha });
    expect(up.status).toBe(200);
    expect(up.received).toEqual({ bytes: 8 * MB, sha: up.sha });
    expect(baseline).toBeGreaterThan(0);
  });

  it('relays a 1 GiB download with the proxy\'s RSS below baseline + 100 MB', async () => {
    const { baseline } = await warmUp();
    const { result, peak, samples, seconds } = await sampled(proxy, () => download(`/download?size=${GiB}`));
    console.log(`1 GiB download: ${seconds.toFixed(1)} s (${(GiB / MB / seconds).toFixed(0)} MiB/s); proxy RSS baseline ${(baseline / MB).toFixed(0)} MiB, peak ${(peak / MB).toFixed(0)} MiB over ${samples} samples`);
    expect(result.status).toBe(200);
    expect(result.bytes).toBe(GiB);
    expect(result.sha).toBe(await sent.get(`/download?size=${GiB}`));
    expect(samples).toBeGreaterThan(0);
    expect(peak - baseline).toBeLessThan(100 * MB);
  });

  it('relays a 1 GiB upload with the proxy\'s RSS below baseline + 100 MB', async () => {
    const { baseline } = await warmUp();
    const { result, peak, samples, seconds } = await sampled(proxy, () => upload(GiB));
    console.log(`1 GiB upload: ${seconds.toFixed(1)} s (${(GiB / MB / seconds).toFixed(0)} MiB/s); proxy RSS baseline ${(baseline / MB).toFixed(0)} MiB, peak ${(peak / MB).toFixed(0)} MiB over ${samples} samples`);
    expect(result.status).toBe(200);
    expect(result.received).toEqual({ bytes: GiB, sha: result.sha });
    expect(samples).toBeGreaterThan(0);
    expect(peak - baseline).toBeLessThan(100 * MB);
  });
});
