// Telling a running Schoolgate to reload (SIGHUP to the pid in data/schoolgate.pid): after a
// list download, after `ca init` or `ca rotate`, or when asked with `lists reload`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Io } from './command.js';

/**
 * Sends SIGHUP; says what it did, `what` naming what the reload picks up. False when no
 * Schoolgate is running (said on standard error unless `quietIfNone`).
 */
export function signalReload(dataDir: string, io: Io, opts: { quietIfNone: boolean; what: string }): boolean {
  const pidFile = join(dataDir, 'schoolgate.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    if (!opts.quietIfNone) io.err(`no running Schoolgate: ${pidFile} not found (start it with "npm start")`);
    return false;
  }
  try {
    process.kill(pid, 'SIGHUP');
    io.out(`asked Schoolgate (pid ${pid}) to reload ${opts.what}`);
    return true;
  } catch {
    if (!opts.quietIfNone) io.err(`no running Schoolgate: pid ${pid} from ${pidFile} is not running`);
    return false;
  }
}
