// One update of a source at a time: the scheduler in the proxy and a technician's
// `lists update` may run at once. The lock is a file naming its holder, so one left by a crash
// (its process gone, or older than any update takes) is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK = '.update.lock';
/** A lock older than this is left over from a crash; no update runs this long. */
const STALE_LOCK_MS = 2 * 60 * 60_000;

/**
 * Takes the source's update lock (the scheduler in the proxy and a technician's
 * `lists update` may run at once); undefined when another live update holds it.
 */
export async function lock(store: string, now: Date): Promise<(() => Promise<void>) | undefined> {
  const path = join(store, LOCK);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, at: now.toISOString() }));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await lockIsStale(path, now))) return undefined;
      await rm(path, { force: true });
    }
  }
  return undefined;
}

async function lockIsStale(path: string, now: Date): Promise<boolean> {
  let holder: { pid?: unknown; at?: unknown };
  try {
    holder = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; at?: unknown };
  } catch {
    return true;
  }
  const at = typeof holder.at === 'string' ? Date.parse(holder.at) : NaN;
  if (!Number.isFinite(at) || now.getTime() - at > STALE_LOCK_MS) return true;
  if (typeof holder.pid !== 'number') return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
