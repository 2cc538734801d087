// Builds a matcher off the event loop. The worker parses the list files and sends back the
// domain table's typed arrays as transfers (no copy), so the main thread only wraps them.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { askWorker } from '../worker.js';
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
export async function buildInWorker(lists: readonly ListSpec[]): Promise<MatcherData> {
  const msg = await askWorker<{ ok: true; data: MatcherData } | { ok: false; error: string }>(import.meta.url, { schoolgateBuild: true, lists }, 'list build');
  if (!msg.ok) throw new Error(`list build failed: ${msg.error}`);
  return msg.data;
}
