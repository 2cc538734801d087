// Runs the real `schoolgate` command (bin/schoolgate.js) in a child process. In the tests it runs
// src/ through tsx (SCHOOLGATE_FROM_SOURCE, set in vitest.config.ts), not the compiled dist/.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'bin/schoolgate.js');

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Another copy of the project, whose bin/schoolgate.js runs (in that folder, unless `cwd` says otherwise). */
  root?: string;
}

function command(opts: SpawnOptions): { bin: string; cwd: string; env: NodeJS.ProcessEnv } {
  return { bin: resolve(opts.root ?? ROOT, 'bin/schoolgate.js'), cwd: opts.cwd ?? opts.root ?? ROOT, env: { ...process.env, ...opts.env } };
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command to its end; `stdin`, when given, is piped in and closed. */
export function schoolgate(args: readonly string[], opts: SpawnOptions & { stdin?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const { bin, cwd, env } = command(opts);
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => {}); // the command may exit before reading
      child.stdin!.end(opts.stdin);
    }
  });
}

/** Starts a long-running command; `waitFor` resolves when its stdout shows a line matching. */
export function spawnSchoolgate(args: readonly string[], opts: SpawnOptions = {}) {
  const { bin, cwd, env } = command(opts);
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; after: number; resolve: (line: string) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...waiters]) {
      const line = stdout.split('\n').slice(w.after).find((l) => w.re.test(l));
      if (line) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor(re: RegExp, after = 0): Promise<string> {
      return new Promise((res, rej) => {
        const line = stdout.split('\n').slice(after).find((l) => re.test(l));
        if (line) return res(line);
        waiters.push({ re, after, resolve: res });
        void exited.then((code) => rej(new Error(`schoolgate exited (${code}) before printing ${re}\n${stdout}\n${stderr}`)));
      });
    },
    lines: () => stdout.split('\n').length,
  };
}
