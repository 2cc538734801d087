// How soon the schoolgate command answers and `schoolgate start` serves, run as shipped (the
// compiled dist/, bin/build.js) and, as the baseline in the same run, the way it ran before
// (src/ through tsx on every run: SCHOOLGATE_FROM_SOURCE=1), or another checkout's compiled code.
//
//   npm run bench:startup                 (node --import tsx bench/startup.ts)
//   BENCH_ROUNDS=9 npm run bench:startup
//   BENCH_SET=0 npm run bench:startup     (without the shared 1.7 M-entry bench set)
//   BENCH_BEFORE=/tmp/old npm run bench:startup
//                                         (the baseline is the checkout in /tmp/old, compiled:
//                                          git archive HEAD | tar -x -C /tmp/old, node_modules
//                                          linked, node bin/build.js there)
//   BENCH_COMMANDS=0 / BENCH_START=0      (leave out the commands / the starts)
//   BENCH_WORKERS=1,2                     (proxy.workers of the starts; default: as shipped, one per core)
//
// Every round also times `node -e 0`, Node starting and doing nothing, so that a command's time
// can be read as a multiple of it measured under the same load.
//
// A command's time is from spawning `node bin/schoolgate.js …` to its exit. Start's time is from
// spawning `schoolgate start` to the first 200 "ok" from the proxy's /healthz on loopback (asked
// every 20 ms; the proxy listens once its lists are loaded; with proxy.workers above 1, a worker
// answers it, as it answers the first proxied request). Beside each wall-clock time, the CPU
// time the process used (all its threads; for a command, its children too), from /proc, which on
// a loaded machine says more than the wall clock. Start runs with the shipped configuration
// (config/default.yaml: the school's lists and the self-test list, UT1 not downloaded) and with
// the bench set in place of UT1 (bench/lib.ts benchConfig). Each configuration keeps one state
// folder, so after one unmeasured warm-up run of each way every start is a restart, as in a
// school. The two ways take turns within each round; medians are printed (the machine is shared).
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { benchConfig, benchSetSource, codeVersion, fmt, requireShared, table } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WITH_BENCH_SET = process.env.BENCH_SET !== '0';

const BEFORE = process.env.BENCH_BEFORE === undefined ? null : resolve(process.env.BENCH_BEFORE);
const WITH_COMMANDS = process.env.BENCH_COMMANDS !== '0';
const WITH_START = process.env.BENCH_START !== '0';
/** proxy.workers of each start measured; null: the shipped configuration as it is (one worker per core). */
const WORKERS: readonly (number | null)[] = process.env.BENCH_WORKERS ? process.env.BENCH_WORKERS.split(',').map(Number) : [null];
/** Where each way's code is, and how it is run: this checkout compiled, and the baseline. */
const WAYS: Record<string, { root: string; env: Record<string, string> }> = {
  compiled: { root: ROOT, env: { SCHOOLGATE_FROM_SOURCE: '0' } },
  ...(BEFORE === null ? { 'tsx (before)': { root: ROOT, env: { SCHOOLGATE_FROM_SOURCE: '1' } } } : { before: { root: BEFORE, env: { SCHOOLGATE_FROM_SOURCE: '0' } } }),
};
type Way = string;
const BASELINE: Way = Object.keys(WAYS)[1]!;
/** The row that times Node alone: the same for every way. */
const NODE_ALONE = 'node -e 0 (Node alone, for scale)';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function sparePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Timing { wall: number; cpu: number }

/** Clock ticks of CPU (user + system) in /proc/PID/stat: a process's own, or (`reaped`) its waited-for children's. */
function cpuTicks(pid: number | 'self', reaped = false): number {
  // The fields after the command name, which is in parentheses: utime and stime are the 12th and
  // 13th, cutime and cstime the 14th and 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = reaped ? 13 : 11;
  return Number(fields[at]) + Number(fields[at + 1]);
}
/** Linux's USER_HZ, the unit of those fields, on every common build. */
const TICK_MS = 10;

/** From spawning the command to its exit; throws unless it exits 0. */
function timeCommand(way: Way, args: readonly string[]): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const ticks0 = cpuTicks('self', true);
    const t0 = performance.now();
    const { root, env } = WAYS[way]!;
    const argv = args[0] === '-e' ? args : [join(root, 'bin/schoolgate.js'), ...args.map((a) => a.replaceAll('{root}', root))];
    const child = spawn(process.execPath, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      // Node has reaped the child by now, so its CPU time is in this process's children's.
      if (code === 0) resolvePromise({ wall: ms, cpu: (cpuTicks('self', true) - ticks0) * TICK_MS });
      else reject(new Error(`schoolgate ${args.join(' ')} (${way}) exited ${code}: ${stderr}`));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolvePromise(res.statusCode === 200 && body.trim() === 'ok'));
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => req.destroy());
  });
}

/** From spawning `schoolgate start` to its first healthy /healthz; then stops it. */
async function timeStart(way: Way, configOf: (root: string) => string, data: string): Promise<Timing> {
  const [port, adminPort] = [await sparePort(), await sparePort()];
  const t0 = performance.now();
  const { root, env } = WAYS[way]!;
  const child = spawn(process.execPath, [join(root, 'bin/schoolgate.js'), 'start', '--config', configOf(root), '--data', data, '--port', String(port), '--admin-port', String(adminPort)], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    for (;;) {
      if (gone) throw new Error(`schoolgate start (${way}) exited before serving: ${stderr}`);
      if (await healthy(port)) return { wall: performance.now() - t0, cpu: cpuTicks(child.pid!) * TICK_MS };
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(kill);
  }
}

async function main(): Promise<void> {
  if (WITH_BENCH_SET) requireShared();
  for (const root of new Set(Object.values(WAYS).map((w) => w.root))) {
    const built = spawnSync(process.execPath, [join(root, 'bin/build.js')], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`bin/build.js failed in ${root}`);
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-startup-'));
  try {
    // A restart reads the phrase rules the last start compiled (data/cache); "first start" empties
    // that folder before each run, as a new install or a changed phrase file meets it.
    // Each checkout's own configuration: as shipped, or written out with proxy.workers set and
    // (the bench set) the bench set in place of UT1, its paths made absolute into that checkout.
    const written = new Map<string, string>();
    const configFile = (workers: number | null, benchSet: boolean) => (root: string): string => {
      if (workers === null && !benchSet) return join(root, 'config/default.yaml');
      const key = `${root}\0${workers}\0${benchSet}`;
      let file = written.get(key);
      if (file === undefined) {
        const doc = benchConfig(benchSet ? [benchSetSource()] : [], { root, keepUt1: !benchSet });
        if (workers !== null) doc.proxy = { ...doc.proxy, workers };
        file = join(tmp, `config-${written.size}.yaml`);
        writeFileSync(file, stringifyYaml(doc));
        written.set(key, file);
      }
      return file;
    };
    const configs: { name: string; file: (root: string) => string; data: string; fresh?: boolean }[] = [];
    for (const workers of WORKERS) {
      const w = workers === null ? '' : `, workers ${workers}`;
      configs.push(
        { name: `start, shipped lists${w}`, file: configFile(workers, false), data: join(tmp, `data-shipped${w}`) },
        { name: `start, shipped lists${w}, first start (no compiled rules kept)`, file: configFile(workers, false), data: join(tmp, `data-first${w}`), fresh: true },
      );
      if (WITH_BENCH_SET) configs.push({ name: `start, 1.7 M-entry bench set${w}`, file: configFile(workers, true), data: join(tmp, `data-bench${w}`) });
    }
    // The commands run on the state folder the shipped configuration's starts leave (databases,
    // the parsed and compiled phrase rules), each way with its own checkout's configuration.
    const data = configs[0]!.data;
    const config = ['--config', '{root}/config/default.yaml', '--data', data];
    const commands: { name: string; args: string[] }[] = !WITH_COMMANDS ? [] : [
      { name: NODE_ALONE, args: ['-e', '0'] },
      { name: '--help', args: ['--help'] },
      { name: 'users list (a command on the database)', args: ['users', 'list', ...config] },
      { name: 'audit list', args: ['audit', 'list', ...config] },
      { name: 'policy check (loads the configuration)', args: ['policy', 'check', ...config] },
      { name: 'alerts list', args: ['alerts', 'list', ...config] },
      { name: 'export (a day of one user)', args: ['export', '--user', 'nobody', '--from', '2026-12-01', '--to', '2026-12-01', ...config] },
      { name: 'digest (when they go)', args: ['digest', ...config] },
      { name: 'phrases list', args: ['phrases', 'list', ...config] },
      { name: 'lists status (configuration and lists)', args: ['lists', 'status', ...config] },
      { name: 'classify URL (configuration, lists and phrase rules)', args: ['classify', 'https://gambling.selftest.invalid/', ...config] },
      { name: 'classify a search (the search model built too)', args: ['classify', 'https://www.google.com/search?q=homework+help', ...config] },
      { name: 'explain URL', args: ['explain', 'https://gambling.selftest.invalid/', '--group', 'ks2', ...config] },
    ];
    if (!WITH_START) {
      // The commands still need the state folder a start leaves: one start of each way, unmeasured.
      for (const way of Object.keys(WAYS)) await timeStart(way, configs[0]!.file, data);
      configs.length = 0;
    }
    const ways = Object.keys(WAYS);
    const times = new Map<string, Record<Way, Timing[]>>();
    const record = (name: string, way: Way, t: Timing): void => {
      const row = times.get(name) ?? Object.fromEntries(ways.map((w) => [w, []])) as unknown as Record<Way, Timing[]>;
      row[way]!.push(t);
      times.set(name, row);
    };
    console.log(`code ${codeVersion()}, Node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${ROUNDS} rounds after a warm-up`);
    for (let round = 0; round <= ROUNDS; round++) {
      // Round 0 is the warm-up: state folders created, tsx's and the OS's caches filled.
      for (const way of round % 2 === 0 ? ways : [...ways].reverse()) {
        for (const c of configs) {
          if (c.fresh) rmSync(join(c.data, 'cache'), { recursive: true, force: true });
          const t = await timeStart(way, c.file, c.data);
          if (round > 0) record(c.name, way, t);
        }
        for (const c of commands) {
          const t = await timeCommand(way, c.args);
          if (round > 0) record(c.name, way, t);
        }
      }
      process.stderr.write(round === 0 ? 'warm-up done\n' : `round ${round} of ${ROUNDS}\n`);
      // The medians so far after every round, to stderr: on a loaded machine a run may be cut short.
      if (round > 0 && round < ROUNDS) process.stderr.write(`${report()}\n`);
    }
    function report(): string {
      const s = (ms: number): string => fmt(ms / 1000, 2);
      const rows: (string | number)[][] = [['median s', 'compiled wall', 'cpu', `${BASELINE} wall`, 'cpu', `compiled ÷ ${BASELINE} wall`, 'cpu', 'compiled wall min–max', '× node -e 0 wall: compiled', BASELINE]];
      const alone = times.get(NODE_ALONE);
      // Node alone is timed in both ways' turns: all its runs together are the scale.
      const aloneWall = alone === undefined ? NaN : median(ways.flatMap((w) => alone[w]!.map((t) => t.wall)));
      for (const [name, row] of times) {
        const wall = (w: Way): number => median(row[w]!.map((t) => t.wall));
        const cpu = (w: Way): number => median(row[w]!.map((t) => t.cpu));
        const walls = row.compiled!.map((t) => t.wall);
        rows.push([name, s(wall('compiled')), s(cpu('compiled')), s(wall(BASELINE)), s(cpu(BASELINE)),
          fmt(wall('compiled') / wall(BASELINE), 2), fmt(cpu('compiled') / cpu(BASELINE), 2), `${s(Math.min(...walls))}–${s(Math.max(...walls))}`,
          fmt(wall('compiled') / aloneWall, 1), fmt(wall(BASELINE) / aloneWall, 1)]);
      }
      return table(rows);
    }
    console.log(report());
    console.log(`load afterwards ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
