// The one logger factory: JSON lines (pino) for machines and log shippers, readable lines when
// a person runs Schoolgate in a terminal. main.ts and the CLI make one and pass it down.
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

// Required when a terminal is written to, not imported: loading pino-pretty and what it uses took
// a tenth of a second of every command and of every process of a start, which write JSON lines.
const require = createRequire(import.meta.url);

export type { Logger };

export function createLogger(opts: { level?: string; destination?: number | string; pretty?: boolean } = {}): Logger {
  const base = { level: opts.level ?? process.env.SCHOOLGATE_LOG_LEVEL ?? 'info', base: { app: 'schoolgate' } };
  const dest = opts.destination ?? 1;
  const tty = dest === 1 ? process.stdout.isTTY : dest === 2 ? process.stderr.isTTY : false;
  if (opts.pretty ?? tty) return pino(base, (require('pino-pretty') as typeof import('pino-pretty'))({ destination: dest, sync: true, colorize: true, ignore: 'pid,hostname,app' }));
  return pino(base, pino.destination({ dest, sync: true }));
}

/** An error's message for a log line or a report: thrown values need not be Errors. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
