// Builds the lists in a child process, so that the build's peak (1.7 M entries parsed: hundreds
// of MiB of heap and malloc'd buffers, which glibc does not give back at once) is never in the
// proxy's process. The child writes the finished tables to a file (table-file.ts); the caller
// reads it in one go into typed arrays, parses nothing again, and removes it (or keeps it for
// its proxy workers to read: the primary builds once for all). A child that fails, is killed
// or cannot write its file rejects the build; the caller's lists in use stay in use.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { answerParent, askChild } from '../worker.js';
import { buildMatcherData, type MatcherData } from './build.js';
import type { ListSpec, ListStats } from './lists.js';
import { readTableFile, writeTableFile } from './table-file.js';

const CHILD_FLAG = '--schoolgate-list-build';

interface Request {
  readonly lists: readonly ListSpec[];
  /** Where to write the tables; null: only the stats are wanted. */
  readonly file: string | null;
}

type Reply = { ok: true; stats?: readonly ListStats[] } | { ok: false; error: string };

answerParent<Request, Reply>(CHILD_FLAG, (req) => {
  try {
    const data = buildMatcherData(req.lists);
    if (req.file !== null) writeTableFile(req.file, data);
    return req.file === null ? { ok: true, stats: data.stats } : { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
});

export interface ChildBuildOptions {
  /** The folder for the table file (created owner-only; the data folder's list-tables). */
  readonly dir: string;
  /** Keep the file and give its path: the primary hands it to its proxy workers, who remove it. */
  readonly keep?: boolean;
  /** Tests: write here instead of a fresh name in `dir`; see the child as it starts. */
  readonly file?: string;
  readonly onChild?: (child: ChildProcess) => void;
}

/** The folder under the data folder where list-build processes write their tables. */
export function tableDir(dataDir: string): string {
  return join(dataDir, 'list-tables');
}

let sequence = 0;

/** Builds in a child process; resolves with the data (and the file, if kept), rejects if the child fails. */
export async function buildInChild(lists: readonly ListSpec[], opts: ChildBuildOptions): Promise<{ data: MatcherData; file: string | null }> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  removeStale(opts.dir);
  const file = opts.file ?? join(opts.dir, `${process.pid}-${++sequence}.table`);
  let kept = false;
  try {
    await ask({ lists, file }, opts.onChild);
    const data = readTableFile(file);
    kept = opts.keep === true;
    return { data, file: kept ? file : null };
  } catch (err) {
    throw new Error(`list build failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (!kept) rmSync(file, { force: true });
  }
}

/** Builds in a child process for the stats alone (a candidate download's count): no tables come back. */
export async function statsInChild(lists: readonly ListSpec[]): Promise<readonly ListStats[]> {
  const reply = await ask({ lists, file: null }).catch((err: unknown) => {
    throw new Error(`list build failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  return reply.stats!;
}

async function ask(req: Request, onChild?: (child: ChildProcess) => void): Promise<Extract<Reply, { ok: true }>> {
  const reply = await askChild<Reply>(import.meta.url, CHILD_FLAG, req, 'list-build', onChild);
  if (!reply.ok) throw new Error(reply.error);
  return reply;
}

/** Table files left by a process that died before removing them (named after its pid). */
function removeStale(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(/^(\d+)-\d+\.table$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
