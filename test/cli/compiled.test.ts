// The schoolgate command as shipped runs the compiled JavaScript in dist/, which bin/build.js
// keeps in step with src/. All in a copy of the project in a temp folder (its node_modules a link
// to this one's), so this tree's sources and dist/ are left alone: a first run compiles dist/, a
// run on unchanged sources uses dist/ as it is, a changed source is compiled again before the
// command runs, and from dist/ the shipped files are found (config/, blocklists/) and `start`
// serves, its worker threads started from dist/ too.
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, schoolgate, spawnSchoolgate, type SpawnOptions } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-compiled-');
afterAll(tmp.cleanup);

const copy = join(tmp.dir, 'schoolgate');
mkdirSync(copy);
for (const name of ['src', 'bin', 'config', 'blocklists', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
  cpSync(join(ROOT, name), join(copy, name), { recursive: true });
}
symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));

// As a technician runs it: not from source.
const compiled: SpawnOptions = { root: copy, env: { SCHOOLGATE_FROM_SOURCE: '0' } };
const COMPILING = /compiling src\/ to dist\//;
/** A whole tsc build took 84 s on this 2-core machine under heavy load: more room than other tests need. */
const COMPILE_TIMEOUT = 300_000;
const TAGLINE = 'schoolgate - a web-filtering proxy for schools';
const EDITED = 'schoolgate - as edited, in as many letters....';

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the compiled command', () => {
  it('a first run compiles src/ to dist/ and answers', async () => {
    expect(existsSync(join(copy, 'dist'))).toBe(false);
    const r = await schoolgate(['--help'], compiled);
    expect(r.stderr).toMatch(COMPILING);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(TAGLINE);
    expect(existsSync(join(copy, 'dist/cli/main.js'))).toBe(true);
    expect(readFileSync(join(copy, 'dist/.source-hash'), 'utf8')).toMatch(/^[0-9a-f]{64} typescript \d+\.\d+\.\d+\n$/);
  }, COMPILE_TIMEOUT);

  it('runs dist/ as it is while the sources are unchanged', async () => {
    // Only the compiled file says this, so its words in the output show dist/ ran, uncompiled again.
    edit(join(copy, 'dist/cli/main.js'), TAGLINE, 'schoolgate - as compiled');
    const r = await schoolgate(['--help'], compiled);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('schoolgate - as compiled');
  });

  it('takes a touched source as unchanged: its contents are what count', async () => {
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(join(copy, 'src/cli/main.ts'), later, later);
    const r = await schoolgate(['--help'], compiled);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('schoolgate - as compiled');
  });

  it('compiles again, before running, when a source has changed, even to the same size and modification time', async () => {
    // Same length, and the old modification time put back: only the change time (and contents) differ.
    const file = join(copy, 'src/cli/main.ts');
    const { atime, mtime } = statSync(file);
    expect(EDITED.length).toBe(TAGLINE.length);
    edit(file, TAGLINE, EDITED);
    utimesSync(file, atime, mtime);
    const r = await schoolgate(['--help'], compiled);
    expect(r.stderr).toMatch(COMPILING);
    expect(r.stdout).toContain(EDITED);
    expect(readFileSync(join(copy, 'dist/cli/main.js'), 'utf8')).toContain(EDITED);
    // Once: the next run finds dist/ fresh.
    expect(await schoolgate(['--help'], compiled)).toMatchObject({ code: 0, stderr: '' });
  }, COMPILE_TIMEOUT);

  it('finds the shipped configuration and self-test list from dist/', async () => {
    const r = await schoolgate(['classify', 'https://gambling.selftest.invalid/'], compiled);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(COMPILING);
    expect(r.stdout).toMatch(/^categories\s+gambling$/m);
    expect(r.stdout).toContain('selftest/gambling');
  });

  it('start serves from dist/, its worker threads included', async () => {
    const p = spawnSchoolgate(['start', '--config', join(copy, 'config/default.yaml'), '--data', join(tmp.dir, 'data'), '--port', '0', '--admin-port', '0'], compiled);
    try {
      const line = await p.waitFor(/Schoolgate is running/);
      const { port } = JSON.parse(line) as { port: number };
      expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(p.output().stderr).not.toMatch(COMPILING);
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
  });
});
