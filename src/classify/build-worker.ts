// Builds a matcher off the event loop. The worker parses the list files and sends back the
// domain table's typed arrays as transfers (no copy), so the main thread only wraps them.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import { buildMatcherData, type MatcherData } from './build.js';
import type { ListSpec } from './lists.js';

if (!isMainThread && parentPort && (workerData as { schoolgateBuild?: boolean } | null)?.schoolgateBuild) {
  const { lists } = workerData as { lists: ListSpec[] };
  try {
    const data = buildMatcherData(lists);
    const d = data.domains;
    parentPort.postMessage({ ok: true, data }, [d.records.buffer, d.slots.buffer, d.filter.buffer] as ArrayBuffer[]);
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
}

/** Builds in a worker thread; resolves with the data, rejects if the worker fails. */
export function buildInWorker(lists: readonly ListSpec[]): Promise<MatcherData> {
  const worker = startWorker(import.meta.url, { schoolgateBuild: true, lists });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: { ok: true; data: MatcherData } | { ok: false; error: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.data);
      else reject(new Error(`list build failed: ${msg.error}`));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`list build worker exited with code ${code}`));
      settled = true;
    });
  });
}
