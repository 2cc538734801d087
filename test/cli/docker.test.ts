// The Docker image's own scripts, run for real (no Docker engine is needed): the entry point
// checks, as the unprivileged user the image runs as, that the state and configuration folders
// can be written, and says which chown fixes them; the HEALTHCHECK the Dockerfile declares asks a
// real running Schoolgate's /healthz with Node (the image has no curl).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-docker-');
afterAll(tmp.cleanup);
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** The image's user: uid and gid 1000 ("node" in the official Node images). */
const IMAGE_UID = 1000;

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON-array form of a Dockerfile instruction (`CMD [...]` after HEALTHCHECK's options, ENTRYPOINT). */
function instruction(pattern: RegExp): string[] {
  const m = pattern.exec(dockerfile);
  expect(m, `${pattern} in the Dockerfile`).not.toBeNull();
  return JSON.parse(m![1]!) as string[];
}

describe('the image', () => {
  it('runs on an LTS Node line, the same in both stages, as a user that is not root', () => {
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBe(2);
    expect(new Set(bases).size).toBe(1);
    expect(bases[0]! % 2).toBe(0); // even majors are the LTS lines
    expect(bases[0]!).toBeGreaterThanOrEqual(24);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).not.toMatch(/when the store lands/);
  });

  it('declares a compose file whose service keeps ./config writable and its state in a volume', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes: string[] }>; volumes: Record<string, unknown> };
    expect(compose.services.schoolgate!.volumes).toEqual(expect.arrayContaining(['./config:/app/config', 'schoolgate-data:/app/data']));
    expect(Object.keys(compose.volumes)).toContain('schoolgate-data');
  });
});

describe('the entry point', () => {
  const entrypoint = instruction(/^ENTRYPOINT (\[.*\])$/m);
  const script = join(ROOT, entrypoint[1]!.replace(/^\/app\//, ''));

  /** The entry point as the image's user: root here drops to uid 1000, anyone else runs as themselves. */
  function asImageUser(data: string, config: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env = { SCHOOLGATE_DATA_DIR: data, SCHOOLGATE_CONFIG_DIR: config };
    const command = ['/bin/sh', script, 'echo', 'started'];
    return process.getuid?.() === 0
      ? run('setpriv', [`--reuid=${IMAGE_UID}`, `--regid=${IMAGE_UID}`, '--clear-groups', ...command], env)
      : run(command[0]!, command.slice(1), env);
  }

  /** Folders as a checkout made by someone else leaves them: readable, not writable, by the image's user. */
  function folders(name: string, owned: { data: boolean; config: boolean }): { data: string; config: string } {
    const base = join(tmp.dir, name);
    const data = join(base, 'data');
    const config = join(base, 'config');
    mkdirSync(data, { recursive: true });
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'default.yaml'), 'school:\n  name: Example Primary\n');
    chmodSync(tmp.dir, 0o755);
    chmodSync(base, 0o755);
    for (const [dir, mine] of [[data, owned.data], [config, owned.config]] as const) {
      if (process.getuid?.() === 0) {
        if (mine) for (const p of [dir, ...(dir === config ? [join(config, 'default.yaml')] : [])]) chownSync(p, IMAGE_UID, IMAGE_UID);
        chmodSync(dir, 0o755);
      } else {
        chmodSync(dir, mine ? 0o755 : 0o555);
      }
    }
    return { data, config };
  }

  it('starts the command when both folders can be written', async () => {
    const f = folders('both', { data: true, config: true });
    expect(await asImageUser(f.data, f.config)).toEqual({ code: 0, stdout: 'started\n', stderr: '' });
  });

  it('starts filtering but says which chown lets the staff app save, when config cannot be written', async () => {
    const f = folders('config-root', { data: true, config: false });
    const r = await asImageUser(f.data, f.config);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('started\n');
    expect(r.stderr).toContain(`${f.config} is not writable by uid`);
    expect(r.stderr).toMatch(/sudo chown -R \d+:\d+ config\n/);
  });

  it('refuses to start, naming the chown, when the state folder cannot be written', async () => {
    const f = folders('data-root', { data: false, config: true });
    const r = await asImageUser(f.data, f.config);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cannot write the state folder ${f.data} as uid`);
    expect(r.stderr).toMatch(/sudo chown -R \d+:\d+ \.\/data/);
  });
});

describe('the HEALTHCHECK', () => {
  const check = instruction(/^HEALTHCHECK .*CMD (\[.*\])$/m);

  it('is healthy while Schoolgate answers /healthz, and unhealthy once it has stopped', async () => {
    expect(check.slice(0, 2)).toEqual(['node', 'bin/healthcheck.js']);
    const running = spawnSchoolgate(['start', '--port', '0', '--admin-port', '0', '--data', join(tmp.dir, 'health-data')]);
    let url = '';
    try {
      const { port } = JSON.parse(await running.waitFor(/Schoolgate is running/)) as { port: number };
      url = `http://127.0.0.1:${port}/healthz`;
      expect(await run(process.execPath, check.slice(1), { SCHOOLGATE_HEALTH_URL: url })).toEqual({ code: 0, stdout: '', stderr: '' });
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
    const down = await run(process.execPath, check.slice(1), { SCHOOLGATE_HEALTH_URL: url });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^schoolgate unhealthy: http:\/\/127\.0\.0\.1:\d+\/healthz: ECONNREFUSED\n$/);
  });
});
