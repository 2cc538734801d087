// What the benchmarks share about their child processes: pinning a process to a core (taskset),
// and BenchChild, a forked child that reports "ready" once and then answers queries over IPC.
//
// The protocol: the child's first message without an `id` is its "ready" (it carries the port it
// listens on, and whatever else it reports); the parent sends queries `{ type, ...fields, id }`
// and the child answers each with a message carrying the same `id`; `{ type: 'close' }` asks it
// to close its servers and exit. A `{ type: 'cpu' }` query is answered with `usage` (the child's
// process.cpuUsage()) or `cpu` (user + system µs).
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';

/** Whether the benchmarks pin their processes: not with BENCH_PIN=0, nor on one core. */
export const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2;

/** Pins every thread of a process to one core; false if not `enabled`, or taskset is missing or refused. */
export function pin(pid: number, core: number, enabled = PIN): boolean {
  if (!enabled) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A query as the caller writes it: the message without the `id` that BenchChild adds. */
export type Query<ToChild> = ToChild extends unknown ? Omit<ToChild, 'id'> : never;

export interface BenchChildOptions {
  /** The module to fork (the benchmark's own file: it runs the child's part when given `name` as its first argument). */
  readonly module: string;
  /** The core the child is pinned to (once forked, and again when ready, for threads started since). */
  readonly core: number;
  /** Node options after the parent's own (process.execArgv). */
  readonly execArgv?: readonly string[];
  /** With BENCH_PROFILE=DIR set: write a V8 CPU profile of this child into DIR on exit. */
  readonly profile?: boolean;
  /** How long close() waits for the child to exit before killing it (default 15 s). */
  readonly killAfterMs?: number;
  /** Whether to pin at all (default PIN). */
  readonly pin?: boolean;
}

/**
 * A child process forked as `module name ...args`, pinned to a core, that reports ready (`start()`)
 * and answers queries (`ask`, `cpu`) over IPC until `close()`. `ToChild` is what the parent sends
 * (queries with an `id`, and `{ type: 'close' }`); `FromChild` is what the child sends: its ready
 * message (no `id`, with a `port`) and its answers (with the `id` of their query).
 */
export class BenchChild<ToChild extends { type: string }, FromChild extends { id: number } | { id?: undefined; port: number }> {
  private next = 0;
  private readonly waiting = new Map<number, (answer: unknown) => void>();
  private readonly started: Promise<Exclude<FromChild, { id: number }>>;
  private readonly killAfterMs: number;
  readonly proc: ChildProcess;
  readonly core: number;
  ready: Exclude<FromChild, { id: number }> | undefined;
  readonly exited: Promise<void>;

  constructor(readonly name: string, args: readonly string[], opts: BenchChildOptions) {
    const profileDir = process.env.BENCH_PROFILE;
    const prof = opts.profile && profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const pinning = opts.pin ?? PIN;
    this.core = opts.core;
    this.killAfterMs = opts.killAfterMs ?? 15_000;
    this.proc = fork(opts.module, [name, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...prof, ...(opts.execArgv ?? [])] });
    pin(this.proc.pid!, this.core, pinning);
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    this.started = new Promise((res, rej) => {
      this.proc.once('exit', (code) => rej(new Error(`${name} exited (${code}) before it was ready`)));
      this.proc.on('message', (m: FromChild) => {
        if (m.id !== undefined) {
          this.waiting.get(m.id)?.(m);
          this.waiting.delete(m.id);
        } else if (this.ready === undefined) {
          this.ready = m as Exclude<FromChild, { id: number }>;
          // Again, for threads started after the first pin.
          pin(this.proc.pid!, this.core, pinning);
          res(this.ready);
        }
      });
    });
    // Seen by whoever awaits start(); not an unhandled rejection before then.
    this.started.catch(() => {});
  }

  /** The child's ready message, once it has sent it. */
  start(): Promise<Exclude<FromChild, { id: number }>> {
    return this.started;
  }

  get port(): number {
    return (this.ready as { port: number }).port;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Sends a query (with the next id) and resolves with the child's answer to it. */
  ask<T = Extract<FromChild, { id: number }>>(m: Query<ToChild>): Promise<T> {
    const id = this.next++;
    return new Promise((r) => {
      this.waiting.set(id, (answer) => r(answer as T));
      this.proc.send({ ...m, id });
    });
  }

  /** The child's CPU time so far, µs (user + system). */
  async cpu(): Promise<number> {
    const m = await this.ask<{ usage: NodeJS.CpuUsage } | { cpu: number }>({ type: 'cpu' } as Query<ToChild>);
    return 'usage' in m ? m.usage.user + m.usage.system : m.cpu;
  }

  /** Asks the child to close (if it is still there) and waits for it to exit; kills it after killAfterMs. */
  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) this.proc.send({ type: 'close' });
    const timer = setTimeout(() => this.proc.kill(), this.killAfterMs);
    await this.exited;
    clearTimeout(timer);
  }
}
