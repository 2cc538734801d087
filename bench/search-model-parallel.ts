// Fits of the learned search model in worker threads: the five cross-validation folds and the
// final fit are independent, and on a shared, busy machine one process gets a small share of
// it. `npm run train:search-model -- --parallel N` runs up to N fits at once; the fits are the
// same as in one thread (the trainer is deterministic), only the wall time changes.
import { parentPort, workerData } from 'node:worker_threads';
import { startWorker } from '../src/worker.js';
import { trainSearchModel, type Trained, type TrainOptions, type TrainRow } from './search-model-trainer.js';

interface FitData {
  readonly schoolgateSearchModelFit: true;
  readonly rows: readonly TrainRow[];
  readonly options: Partial<TrainOptions>;
}

if ((workerData as FitData | undefined)?.schoolgateSearchModelFit && parentPort) {
  const { rows, options } = workerData as FitData;
  parentPort.postMessage(trainSearchModel(rows, options));
}

/** One fit in a worker thread. */
export function trainInWorker(rows: readonly TrainRow[], options: Partial<TrainOptions>): Promise<Trained> {
  const worker = startWorker(import.meta.url, { schoolgateSearchModelFit: true, rows, options } satisfies FitData);
  return new Promise((resolve, reject) => {
    worker.once('message', (m: Trained) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`search model fit worker exited with ${code}`)));
  });
}

/** Runs the jobs, at most `limit` at a time, and gives their results in order. */
export async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, run));
  return out;
}
