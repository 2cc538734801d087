// schoolgate start: runs Schoolgate in the foreground: the list service (lists loaded off the
// event loop, refreshed on their schedules, reloaded on SIGHUP) and the proxy listener.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListService } from '../lists/service.js';
import { startUpdateSchedule } from '../lists/scheduled-updates.js';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../log.js';
import { authenticatorFor } from '../identity/users-auth.js';
import { createProxyServer } from '../proxy/server.js';
import { openDatabase } from '../store/db.js';
import { UserStore } from '../store/users.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'start',
  summary: 'run Schoolgate in the foreground',
  usage: 'start [--port N] [--config FILE] [--data DIR]',
  details: 'Loads the configuration and every list (off the event loop), listens as an HTTP(S) proxy\n(port 3128 unless proxy.port or --port says otherwise), refreshes downloaded lists on their\nschedules, reloads configuration and lists on SIGHUP ("schoolgate lists reload"), and stops on\nSIGTERM or Ctrl-C, draining requests in flight for up to 10 s. Logs are JSON lines on standard output.',
  options: { ...COMMON_OPTIONS, port: { type: 'string', short: 'p' } },
  help: { ...COMMON_HELP, port: 'port to listen on (default: proxy.port in the config, 3128)' },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS & { port: { type: 'string'; short: 'p' } }>;

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
  const port = values.port === undefined ? service.config.proxy.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${values.port}" is not a port number`);
  const db = openDatabase(data);
  const users = new UserStore(db, { groups: () => new Set(service.config.policy.groups.keys()) });
  const auth = authenticatorFor(users);
  const { server, destroyTunnels } = createProxyServer({ source: service, log, auth });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, service.config.proxy.host, resolve);
  });
  const address = server.address() as AddressInfo;
  log.info({ pid: process.pid, config, data, host: address.address, port: address.port }, 'Schoolgate is running');

  // A reload also forgets remembered sign-ins, so a disabled user or a changed password counts.
  const onHup = (): void => {
    auth.forget();
    void service.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.off('SIGHUP', onHup);
  // Refuse new connections, let requests in flight finish, and cut what is left after 10 s.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drain = setTimeout(() => {
    server.closeAllConnections();
    destroyTunnels();
  }, 10_000);
  await closed;
  destroyTunnels();
  clearTimeout(drain);
  await schedule.stop();
  db.close();
  rmSync(pidFile, { force: true });
  return 0;
}
