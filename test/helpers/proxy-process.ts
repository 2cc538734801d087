// A Schoolgate proxy in a process of its own, so a test can measure the proxy's memory and
// nothing else. Run as `node --import tsx test/helpers/proxy-process.ts DIR EXTRA_YAML`: it
// writes its config into DIR (startProxy), prints {"port":N} on stdout once listening, answers
// each "rss" line on stdin with {"rss":BYTES}, and exits when stdin closes (the test ended or died).
import { createInterface } from 'node:readline';
import { startProxy } from './proxy.js';

const [dir, extra] = process.argv.slice(2);
if (dir === undefined || extra === undefined) {
  process.stderr.write('usage: proxy-process.ts DIR EXTRA_YAML\n');
  process.exit(2);
}
const { port } = await startProxy(dir, extra);
process.stdout.write(`${JSON.stringify({ port })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'rss') process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss })}\n`);
});
lines.on('close', () => process.exit(0));
