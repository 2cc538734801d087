// Squid as a comparison proxy for bench/proxy.ts: no cache, access log on, one worker, on a free
// loopback port, with a hosts_file sending the benchmark's names to 127.0.0.1 (no DNS), run in
// the foreground (`squid -N -f CONF`) with its pid, logs and cache directory in a temp dir.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Squid {
  readonly port: number;
  readonly pid: number;
  readonly version: string;
  readonly dir: string;
  /** Lines in the access log so far. */
  accessLogLines(): number;
  /** user + system CPU of the Squid process so far, in µs (from /proc, 10 ms resolution). */
  cpu(): number;
  stop(): Promise<void>;
}

export function squidBinary(): string | null {
  for (const p of ['/usr/sbin/squid', '/usr/local/sbin/squid', '/usr/bin/squid']) if (existsSync(p)) return p;
  return null;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const live = new Set<ChildProcess>();
// Whatever happens to the benchmark, Squid does not outlive it.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function procCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) ".
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

export async function startSquid(opts: { originPort: number; tlsPort: number; hosts: readonly string[]; core: number | null }): Promise<Squid> {
  const bin = squidBinary();
  if (bin === null) throw new Error('squid is not installed (apt-get install -y squid)');
  const version = /Version (\S+)/.exec(execFileSync(bin, ['-v'], { encoding: 'utf8' }))?.[1] ?? '?';
  // Its own temp dir, owned by the user Squid runs as (a root-only parent would stop it).
  const dir = mkdtempSync(join(tmpdir(), 'schoolgate-bench-squid-'));
  mkdirSync(join(dir, 'cache'), { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'hosts'), opts.hosts.map((h) => `127.0.0.1 ${h}\n`).join(''));
  const conf = join(dir, 'squid.conf');
  writeFileSync(conf, [
    `http_port 127.0.0.1:${port}`,
    'workers 1',
    // No caching at all: every request goes to the origin, as it does through Schoolgate.
    'cache deny all',
    'cache_mem 8 MB',
    `cache_log ${join(dir, 'cache.log')}`,
    `access_log stdio:${join(dir, 'access.log')}`,
    'logfile_rotate 0',
    `pid_filename ${join(dir, 'squid.pid')}`,
    `coredump_dir ${join(dir, 'cache')}`,
    // The benchmark's names go to 127.0.0.1 from this file; no DNS server is asked for them.
    `hosts_file ${join(dir, 'hosts')}`,
    'dns_nameservers 127.0.0.1',
    'pinger_enable off',
    'shutdown_lifetime 1 second',
    'max_filedescriptors 16384',
    'acl origin_port port ' + opts.originPort,
    'acl SSL_ports port ' + opts.tlsPort,
    'http_access deny CONNECT !SSL_ports',
    'http_access allow localhost origin_port',
    'http_access allow localhost CONNECT SSL_ports',
    'http_access deny all',
    '',
  ].join('\n'));
  // Squid started as root drops to the proxy user, which must be able to write its files.
  if (process.getuid?.() === 0) {
    try {
      const uid = Number(execFileSync('id', ['-u', 'proxy'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'proxy'], { encoding: 'utf8' }).trim());
      const chownAll = (p: string): void => {
        chownSync(p, uid, gid);
        if (statSync(p).isDirectory()) for (const f of readdirSync(p)) chownAll(join(p, f));
      };
      chownAll(dir);
    } catch {
      // No proxy user: Squid will say what it cannot open.
    }
  }
  try {
    execFileSync(bin, ['-k', 'parse', '-f', conf], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`squid -k parse refused the configuration: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').slice(-3).join(' | ')}`);
  }
  const args = ['-N', '-f', conf];
  const proc = opts.core === null ? spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('taskset', ['-c', String(opts.core), bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => {
    exited = true;
    live.delete(proc);
    r();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when its port accepts a connection.
  const until = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      const why = tail(output, dir);
      await stop();
      throw new Error(`squid exited at start: ${why}`);
    }
    const up = await new Promise<boolean>((r) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > until) {
      const why = tail(output, dir);
      await stop();
      throw new Error(`squid did not listen within 20 s: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = proc.pid!;
  return {
    port, pid, version, dir, stop,
    accessLogLines: () => {
      try {
        return readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    cpu: () => procCpuUs(pid),
  };
}

function tail(output: string, dir: string): string {
  let log = '';
  try {
    log = readFileSync(join(dir, 'cache.log'), 'utf8');
  } catch {
    // none
  }
  return `${output}\n${log}`.trim().split('\n').slice(-8).join(' | ');
}
