// The one logger factory: JSON lines (pino), to stdout by default. main.ts and the CLI make
// one and pass it down; nothing imports a global logger.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; destination?: number | string } = {}): Logger {
  return pino(
    { level: opts.level ?? process.env.SCHOOLGATE_LOG_LEVEL ?? 'info', base: { app: 'schoolgate' } },
    pino.destination({ dest: opts.destination ?? 1, sync: true }),
  );
}
