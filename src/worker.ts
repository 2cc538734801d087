// Starts a worker thread on one of Schoolgate's own modules, from TypeScript (a checkout, the
// tests) or from the built JavaScript. Each worker module runs its worker side only when its
// marker key is set in workerData, so importing it elsewhere does nothing.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startWorker(moduleUrl: string, workerData: Record<string, unknown>): Worker {
  const self = new URL(moduleUrl);
  // From TypeScript the worker first registers tsx's loader; tsx is named by its resolved URL
  // so the worker finds it whatever the current folder is.
  return self.pathname.endsWith('.ts')
    ? new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(self.href)}); })`,
      { eval: true, workerData },
    )
    : new Worker(self, { workerData });
}

/**
 * Starts a child process on one of Schoolgate's own modules, chosen as startWorker chooses: from
 * TypeScript with tsx's loader (named by its resolved URL), else the built JavaScript. The
 * child gets none of this process's own node options (an inspector, --expose-gc, a test
 * runner's), this process's environment, and an IPC channel; `args` tell the module to run its
 * child side.
 */
export function forkModule(moduleUrl: string, args: readonly string[]): ChildProcess {
  const self = new URL(moduleUrl);
  const execArgv = self.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  // Forked from a proxy worker, the child must not take itself for one: node:cluster sets up a
  // worker at start-up whenever NODE_UNIQUE_ID is in the environment.
  const { NODE_UNIQUE_ID: _, ...env } = process.env;
  return fork(fileURLToPath(self), [...args], { execArgv, env, serialization: 'advanced' });
}

/**
 * A child process that answers once: started by forkModule with `flag`, sent `request`, it
 * settles with the child's reply. It rejects if the child fails to start or exits (crashes, is
 * killed) before replying, naming `what`.
 */
export function askChild<T>(moduleUrl: string, flag: string, request: unknown, what: string, onChild?: (child: ChildProcess) => void): Promise<T> {
  const child = forkModule(moduleUrl, [flag]);
  onChild?.(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
    };
    child.once('message', (reply: T) => settle(() => resolve(reply)));
    child.once('error', (err) => settle(() => reject(err)));
    child.once('exit', (code, signal) => settle(() => reject(new Error(`the ${what} process ${signal ? `was killed (${signal})` : `exited with code ${code}`} before it finished`))));
    // A child that cannot be sent the request (killed already) is reported by its exit.
    child.send(request as object, () => undefined);
  });
}

/**
 * askChild's other side: when this process was forked with `flag`, answers the one request
 * with `answer` (which reports its own failures in its reply) and exits. Importing a module
 * that calls this anywhere else does nothing.
 */
export function answerParent<Q, R>(flag: string, answer: (request: Q) => R): void {
  if (process.argv[2] !== flag || !process.send) return;
  // The parent gone, there is nobody to answer.
  process.once('disconnect', () => process.exit(1));
  process.once('message', (request: Q) => {
    process.send!(answer(request), undefined, {}, () => process.exit(0));
  });
}

/**
 * Stops a writer thread (the traffic log's, the alert journal's): asks it to close, and resolves
 * once it says `closed`. Terminating a thread inside a SQLite call brings the process down, so
 * terminating is only the last resort after `waitMs`; a writer comes back to JavaScript at least
 * once a second.
 */
export function closeWriter(worker: Worker, waitMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => void worker.terminate().then(() => resolve()), waitMs);
    worker.on('message', (m: { readonly type: string }) => {
      if (m.type !== 'closed') return;
      clearTimeout(t);
      resolve();
    });
    worker.postMessage({ type: 'close' });
  });
}
