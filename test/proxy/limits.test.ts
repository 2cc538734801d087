// Limits against slow and greedy clients: oversized headers, slow headers, too many connections.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startProxy } from '../helpers/proxy.js';

const run = promisify(execFile);
const tmp = tempDir();
let proxy: Proxy;
let port = 0;

beforeAll(async () => {
  ({ proxy, port } = await startProxy(tmp.dir, 'proxy:\n  pacDirect: [intranet.school.example, 10.0.0.0/8]\n  limits:\n    headerTimeoutSeconds: 1\n    maxHeaderBytes: 2048\n    connectionsPerClient: 3\n'));
});
afterAll(async () => {
  await closeAll(proxy);
  tmp.cleanup();
});

/** A raw connection, and what it receives until the proxy closes it. */
function connect(): Promise<{ socket: net.Socket; closed: Promise<string> }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      resolve({ socket, closed: new Promise((r) => socket.on('close', () => r(got))) });
    });
    socket.on('error', () => {});
  });
}

describe('the PAC file', () => {
  it('sends the configured school servers DIRECT', async () => {
    const pac = (await run('curl', ['-s', `http://127.0.0.1:${port}/wpad.dat`])).stdout;
    expect(pac).toContain('"intranet.school.example"');
    expect(pac).toContain('10.0.0.0');
  });
});

describe('proxy limits', () => {
  it('answers 431 to oversized request headers', async () => {
    const out = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '-x', `http://127.0.0.1:${port}`, '-H', `X-Big: ${'a'.repeat(3000)}`, 'http://gambling.selftest.invalid/']);
    expect(out.stdout).toBe('431');
  });

  it('closes a connection whose headers do not all arrive in time', async () => {
    const { socket, closed } = await connect();
    socket.write('GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n');
    expect(await closed).toMatch(/^HTTP\/1\.1 408|^$/);
    expect(socket.destroyed).toBe(true);
  });

  it('refuses connections beyond the per-client limit, and takes new ones when one closes', async () => {
    const held = await Promise.all([connect(), connect(), connect()]);
    const fourth = await connect();
    expect(await fourth.closed).toBe('');
    held[0]!.socket.destroy();
    await held[0]!.closed;
    const again = await connect();
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await again.closed).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\nok\n/);
    for (const h of held.slice(1)) h.socket.destroy();
  });
});
