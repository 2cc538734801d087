// schoolgate start: runs Schoolgate in the foreground: the list service (lists loaded off the
// event loop, refreshed on their schedules, reloaded on SIGHUP) and the proxy listener, here or
// (proxy.workers above 1) in worker processes this one forks: the primary's side in
// cli/start-primary.ts, a worker's in cli/start-worker.ts.
import cluster from 'node:cluster';
import { createLogger } from '../log.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, type CommandSpec, type Io } from './command.js';
import { Stopping } from './stopping.js';

const spec = {
  name: 'start',
  summary: 'run Schoolgate in the foreground',
  usage: 'start [--port N] [--admin-port N] [--config FILE] [--data DIR]',
  details: 'Loads the configuration and every list (off the event loop), listens as an HTTP(S) proxy\n(port 3128 unless proxy.port or --port says otherwise), refreshes downloaded lists on their\nschedules, sends the safeguarding digests at their times, reloads configuration and lists on\nSIGHUP ("schoolgate lists reload"), and stops on SIGTERM or Ctrl-C within 10 s, letting requests\nand alert notifications in flight finish for up to 8 s. Logs are JSON lines on standard output.\nWith proxy.workers above 1 (one per core by default), the proxy runs in that many worker\nprocesses sharing the port; this process keeps the traffic log, alerts, the staff app and lists.',
  options: { ...COMMON_OPTIONS, port: { type: 'string', short: 'p' }, 'admin-port': { type: 'string' } },
  help: { ...COMMON_HELP, port: 'port to listen on (default: proxy.port in the config, 3128)', 'admin-port': 'port of the staff web app (default: admin.port in the config, 8081)' },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS & { port: { type: 'string'; short: 'p' }; 'admin-port': { type: 'string' } }>;

export type StartValues = ReturnType<typeof parse<(typeof spec)['options']>>['values'];

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const log = createLogger();
  const parts = new Stopping(log);
  try {
    // A proxy worker forked by a `schoolgate start` with proxy.workers above 1 (cli/workers.ts).
    // Each loads only its own side: a worker never needs the primary's modules (the alert queues,
    // the traffic writer, the digests), nor the primary a worker's.
    if (cluster.isWorker) return await (await import('./start-worker.js')).runWorker(values, parts, log);
    return await (await import('./start-primary.js')).runPrimary(values, parts, log);
  } catch (err) {
    // A start that fails half way (a port in use) closes what it opened: the process exits with
    // the error rather than live on with no proxy, holding Redis and the databases.
    await parts.stop();
    throw err;
  } finally {
    parts.exitWhenTimeIsUp();
  }
}
