// A BullMQ alert worker in a process of its own, so a test can kill it mid-delivery (kill -9) and
// start another. Run as `node --import tsx test/helpers/alert-worker.ts DATA_DIR CONFIG_FILE LOCK_MS`:
// it opens DATA_DIR/alerts.db and delivers what the configuration's Redis queue holds, exactly
// as `schoolgate start` does (AlertService with the same configuration file), with BullMQ's job
// lock shortened to LOCK_MS. Like every Schoolgate process it also relays the outbox, which is
// harmless: a row already on the queue is added again under the same job id, and BullMQ ignores
// it. Prints {"ready":true} on stdout once started, and closes when stdin does.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AlertService } from '../../src/alerts/service.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';

const [data, file, lockMs] = process.argv.slice(2);
if (data === undefined || file === undefined || lockMs === undefined) {
  process.stderr.write('usage: alert-worker.ts DATA_DIR CONFIG_FILE LOCK_MS\n');
  process.exit(2);
}
const config = loadConfig(file);
const service = await AlertService.start({
  dataDir: data, config: () => config, log: createLogger({ level: process.env.SCHOOLGATE_LOG_LEVEL ?? 'silent', destination: 2 }),
  lockMs: Number(lockMs), retry: { backoffMs: 50, pollMs: 100 },
});
process.stdout.write(`${JSON.stringify({ ready: true, db: join(data, 'alerts.db') })}\n`);
createInterface({ input: process.stdin }).on('close', () => {
  void service.close().finally(() => process.exit(0));
});
