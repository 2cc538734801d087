// The one way the proxy joins two sockets (CONNECT tunnels and upgrades), on real loopback
// sockets: a device, the proxy's side of its connection, the proxy's upstream connection, and the
// far server.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { joinSockets, joinTunnel, Relayed } from '../../src/proxy/socket-join.js';

const IDLE_MS = 60_000;
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(): Promise<{ server: net.Server; port: number; accepted: Promise<net.Socket> }> {
  // Half-open, as the proxy's HTTP server and most far servers are: an end is only a half-close.
  const server = net.createServer({ allowHalfOpen: true });
  servers.push(server);
  const accepted = once(server, 'connection').then(([s]) => track(s as net.Socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, accepted };
}

function track(s: net.Socket): net.Socket {
  sockets.push(s);
  return s;
}

/** A device connected to the proxy, and the proxy's side of that connection (half-open, as the HTTP server's). */
async function devicePair(): Promise<{ device: net.Socket; client: net.Socket }> {
  const entry = await listen();
  const device = track(net.connect({ port: entry.port, host: '127.0.0.1', allowHalfOpen: true }));
  const client = await entry.accepted;
  return { device, client };
}

/** Resolves once the socket has closed (at once if it has). */
function closed(s: net.Socket): Promise<unknown> {
  return s.closed ? Promise.resolve() : once(s, 'close');
}

/** What a socket reads, kept from now on: `until` waits for a text, `end` for the socket's end. */
function reader(s: net.Socket): { until(want: string): Promise<string>; end(): Promise<string> } {
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  const ended = once(s, 'end');
  return {
    async until(want) {
      while (!text.includes(want)) await once(s, 'data');
      return text;
    },
    async end() {
      await ended;
      return text;
    },
  };
}

/** A device joined through the proxy's two sockets to the far server, `first` sent ahead. */
async function joined(first: Buffer[] = []): Promise<{ device: net.Socket; client: net.Socket; upstream: net.Socket; server: net.Socket }> {
  const far = await listen();
  const { device, client } = await devicePair();
  const upstream = track(net.connect({ port: far.port, host: '127.0.0.1' }));
  await once(upstream, 'connect');
  const server = await far.accepted;
  joinSockets(client, upstream, first, IDLE_MS);
  return { device, client, upstream, server };
}

describe('joinSockets', () => {
  it('sends what was held first, then carries bytes both ways', async () => {
    const { device, server } = await joined([Buffer.from('held-1;'), Buffer.from('held-2;')]);
    const heard = reader(server);
    const answered = reader(device);
    device.write('later;');
    expect(await heard.until('later;')).toBe('held-1;held-2;later;');
    server.write('answer');
    expect(await answered.until('answer')).toBe('answer');
  });

  it('passes a half-close on: the far side still answers after the device has finished sending', async () => {
    const { device, client, upstream, server } = await joined();
    const heard = reader(server);
    const answered = reader(device);
    device.end('question');
    expect(await heard.end()).toBe('question');
    server.end('answer after the end');
    expect(await answered.end()).toBe('answer after the end');
    await Promise.all([closed(client), closed(upstream)]);
  });

  it.each(['device', 'server'] as const)('closes both of the proxy\'s sockets when the %s resets its connection', async (resetting) => {
    const ends = await joined();
    const other = resetting === 'device' ? ends.server : ends.device;
    other.on('error', () => undefined);
    other.resume(); // read, so that its end is seen
    const ended = once(other, 'end');
    ends[resetting].resetAndDestroy();
    await ended;
    expect(ends.client.destroyed).toBe(true);
    expect(ends.upstream.destroyed).toBe(true);
  });
});

describe('joinTunnel', () => {
  it('joins once the upstream connects, what the client sent meanwhile first', async () => {
    const far = await listen();
    const { device, client } = await devicePair();
    const upstream = track(net.connect({ port: far.port, host: '127.0.0.1' }));
    let failed = false;
    joinTunnel(client, upstream, Buffer.from('hello;'), false, IDLE_MS, () => (failed = true));
    const server = await far.accepted;
    const heard = reader(server);
    const answered = reader(device);
    device.write('more;');
    expect(await heard.until('more;')).toBe('hello;more;');
    server.end('bye');
    expect(await answered.end()).toBe('bye');
    await closed(client);
    expect(failed).toBe(false);
  });

  it('counts the bytes each way, the held first bytes included', async () => {
    const far = await listen();
    const { device, client } = await devicePair();
    const upstream = track(net.connect({ port: far.port, host: '127.0.0.1' }));
    const counts = new Relayed();
    joinTunnel(client, upstream, Buffer.from('hello;'), false, IDLE_MS, () => undefined, counts);
    const server = await far.accepted;
    const heard = reader(server);
    const answered = reader(device);
    device.write('more;');
    await heard.until('more;');
    server.end('a reply of 20 bytes!');
    await answered.end();
    await closed(client);
    expect({ up: counts.bytesWritten, down: counts.bytesRead }).toEqual({ up: 11, down: 20 });
  });

  it('says so when the upstream never connects, and closes the client', async () => {
    // A port that was just free: nothing listens on it.
    const gone = await listen();
    await new Promise((r) => gone.server.close(r));
    servers.splice(servers.indexOf(gone.server), 1);
    const { client } = await devicePair();
    const upstream = track(net.connect({ port: gone.port, host: '127.0.0.1' }));
    const failed = new Promise<void>((resolve) => joinTunnel(client, upstream, Buffer.alloc(0), false, IDLE_MS, resolve));
    await failed;
    expect(client.destroyed).toBe(true);
  });
});
