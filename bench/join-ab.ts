// socket-join.ts of two trees, alone: each tree's joinTunnel in a relay process of its own (a
// net server that dials a far server for each connection and joins the two, nothing else), both
// relays loaded at once by this process, so the machine's other work falls on both alike. What
// is compared is the relays' CPU a connection: accept, dial, join, a few writes each way, close.
//
//   JOIN_OLD=/tmp/connect-before/src/proxy/socket-join.ts JOIN_NEW=src/proxy/socket-join.ts node --import tsx bench/join-ab.ts
//
// JOIN_ROUNDS (default 10), JOIN_AMOUNT (connections a relay a round, default 3000), JOIN_CLIENTS (default 10).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pin } from './child.js';

const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));
type Join = (client: net.Socket, upstream: net.Socket, buffered: Buffer, connected: boolean, idleMs: number, failed: () => void) => void;

if (process.argv[2] === 'relay') {
  // The relay: the far server's port, the module whose joinTunnel it uses.
  const farPort = Number(process.argv[3]);
  const { joinTunnel } = (await import(pathToFileURL(resolve(process.argv[4]!)).href)) as { joinTunnel: Join };
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => client.destroy());
    const upstream = net.connect({ host: '127.0.0.1', port: farPort });
    upstream.on('error', () => upstream.destroy());
    joinTunnel(client, upstream, Buffer.alloc(0), false, 60_000, () => undefined);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system });
    } else process.exit(0);
  });
} else {
  const ROUNDS = env('JOIN_ROUNDS', 10);
  const AMOUNT = env('JOIN_AMOUNT', 3000);
  const CLIENTS = env('JOIN_CLIENTS', 10);
  const OLD = process.env.JOIN_OLD;
  const NEW = process.env.JOIN_NEW;
  if (!OLD || !NEW) throw new Error('set JOIN_OLD and JOIN_NEW to the two trees\' src/proxy/socket-join.ts');
  // The far server: reads a 1 KiB "hello", answers 4 KiB in two writes, then ends (as a TLS
  // handshake and a small response would, roughly).
  const answer = Buffer.alloc(2048, 'b');
  const far = net.createServer((s) => {
    s.on('error', () => s.destroy());
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got < 1024) return;
      s.write(answer);
      s.end(answer);
    });
  });
  far.listen(0, '127.0.0.1');
  await once(far, 'listening');
  const farPort = (far.address() as AddressInfo).port;
  pin(process.pid, 1);
  const start = async (module: string): Promise<{ child: ChildProcess; port: number }> => {
    const child = fork(new URL(import.meta.url).pathname, ['relay', String(farPort), module], { execArgv: process.execArgv });
    const [ready] = (await once(child, 'message')) as [{ port: number }];
    pin(child.pid!, 0);
    return { child, port: ready.port };
  };
  const relays = { old: await start(OLD), new: await start(NEW) };
  const cpu = async (c: ChildProcess): Promise<number> => {
    c.send({ type: 'cpu' });
    const [m] = (await once(c, 'message')) as [{ cpu: number }];
    return m.cpu;
  };
  const hello = Buffer.alloc(1024, 'a');
  const one = (port: number): Promise<void> => new Promise((done) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(hello));
    s.on('data', () => undefined);
    s.on('end', () => s.destroy());
    s.on('close', () => done());
    s.on('error', () => s.destroy());
  });
  const load = async (port: number): Promise<void> => {
    let started = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (started++ < AMOUNT) await one(port);
    }));
  };
  const round = async (): Promise<{ old: number; new: number }> => {
    const before = { old: await cpu(relays.old.child), new: await cpu(relays.new.child) };
    await Promise.all([load(relays.old.port), load(relays.new.port)]);
    return { old: ((await cpu(relays.old.child)) - before.old) / AMOUNT, new: ((await cpu(relays.new.child)) - before.new) / AMOUNT };
  };
  await round(); // warm-up
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round();
    ratios.push(r.new / r.old);
    console.log(`round ${i + 1}: relay CPU µs a connection old ${r.old.toFixed(0)}, new ${r.new.toFixed(0)}, new/old ${(r.new / r.old).toFixed(3)}`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(`new/old median ${sorted[sorted.length >> 1]!.toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
  for (const r of Object.values(relays)) r.child.send({ type: 'close' });
  far.close();
}
