// Starts a worker thread on one of Schoolgate's own modules, from TypeScript (a checkout, the
// tests) or from the built JavaScript. Each worker module runs its worker side only when its
// marker key is set in workerData, so importing it elsewhere does nothing.
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
 * A worker that answers once: started as startWorker does, it settles with its first message and
 * is then terminated. It rejects if the worker fails or exits before answering, naming `what`.
 */
export function askWorker<T>(moduleUrl: string, workerData: Record<string, unknown>, what: string): Promise<T> {
  const worker = startWorker(moduleUrl, workerData);
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: T) => {
      settled = true;
      void worker.terminate();
      resolve(msg);
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`${what} worker exited with code ${code}`));
      settled = true;
    });
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
