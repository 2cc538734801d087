// A redis-server of the test's own, on a spare loopback port, that the test can stop and start
// again on the same port (an outage). Nothing is saved: a restarted server is empty, as a Redis
// that lost its memory would be.
import { spawn, type ChildProcess } from 'node:child_process';
import { unusedPort } from './raw-http.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** False between stop() and start(). */
  readonly running: boolean;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
}

export async function redisServer(): Promise<RedisServer> {
  const port = await unusedPort();
  let child: ChildProcess | null = null;
  const start = (): Promise<void> => new Promise((resolve, reject) => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.stderr!.resume();
    proc.once('error', (err) => reject(new Error(`redis-server could not be started (is it installed?): ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, get running() { return child !== null; } };
}
