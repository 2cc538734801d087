// schoolgate start: runs Schoolgate in the foreground. Today that is the list service (load
// lists off the event loop, refresh downloaded sources on their schedules, reload on SIGHUP);
// the proxy listener joins it with the proxy issue.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListService } from '../lists/service.js';
import { startUpdateSchedule } from '../lists/scheduled-updates.js';
import { createLogger } from '../log.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'start',
  summary: 'run Schoolgate in the foreground',
  usage: 'start [--config FILE] [--data DIR]',
  details: 'Loads the configuration and every list (off the event loop), refreshes downloaded lists on\ntheir schedules, reloads configuration and lists on SIGHUP ("schoolgate lists reload"), and\nstops on SIGTERM or Ctrl-C. Logs are JSON lines on standard output.',
  options: COMMON_OPTIONS,
  help: COMMON_HELP,
} as const satisfies CommandSpec<typeof COMMON_OPTIONS>;

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const { config, data } = paths(values);
  const log = createLogger();
  mkdirSync(data, { recursive: true });
  const service = await ListService.start({ configFile: config, dataDir: data, log });
  const pidFile = join(data, 'schoolgate.pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  const schedule = await startUpdateSchedule(service, { dataDir: data, log });
  log.info({ pid: process.pid, config, data }, 'Schoolgate is running: lists loaded and kept up to date (the proxy listener is not part of this build yet)');

  const onHup = (): void => void service.reload('SIGHUP');
  process.on('SIGHUP', onHup);
  // Nothing else holds the event loop open until the proxy's listening socket does.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.off('SIGHUP', onHup);
  clearInterval(keepAlive);
  await schedule.stop();
  rmSync(pidFile, { force: true });
  return 0;
}
