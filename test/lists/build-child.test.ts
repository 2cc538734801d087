// The lists built in a child process and handed back through a file (classify/build-child.ts,
// classify/table-file.ts): the same data as a build in-process, bad lines reported the same, the
// file removed after; a child killed mid-build, a full disk, a child that throws and a table
// file cut short each fail the build, and the list service keeps the old lists serving.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMatcherData, type MatcherData } from '../../src/classify/build.js';
import { buildInChild, statsInChild, tableDir } from '../../src/classify/build-child.js';
import type { ListSpec } from '../../src/classify/lists.js';
import { readTableFile, writeTableFile } from '../../src/classify/table-file.js';
import { keepTables, seeTables } from '../../src/classify/kept-tables.js';
import { ListService } from '../../src/lists/service.js';
import { keepParsedFiles } from '../../src/config/kept.js';
import { createLogger } from '../../src/log.js';
import { tempDir, writeLists } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir('schoolgate-build-child-');
afterAll(tmp.cleanup);

const specs = writeLists(join(tmp.dir, 'lists'), [
  { name: 'games', files: { domains: 'games.example.test\nbad..name\n\u0000binary\nplay.example.test\n', urls: 'example.test/games/\nlevels.example.test/a/b?c=1\n' } },
  { name: 'iwf', sensitive: true, role: 'block', files: { iwf: 'hidden.example.test/page.html\nwhole.example.test\n', sha256: `${'a'.repeat(64)}\nnot-a-hash\n` } },
  { name: 'regex', files: { expressions: '(casino|poker)\\.example\n(\n' } },
]);

/** The data without its timings, which differ between any two builds. */
function untimed(d: MatcherData): unknown {
  return { ...d, buildMs: 0, stats: d.stats.map((s) => ({ ...s, loadMs: 0 })), domains: { ...d.domains, records: [...d.domains.records], slots: [...d.domains.slots], filter: [...d.domains.filter] } };
}

describe('building the lists in a child process', () => {
  it('hands back what a build in-process makes, bad lines and all, and removes its file', async () => {
    const dir = join(tmp.dir, 'same');
    const built = await buildInChild(specs, { dir });
    expect(built.file).toBeNull();
    expect(untimed(built.data)).toEqual(untimed(buildMatcherData(specs)));
    expect(built.data.stats[0]!.skipped).toBe(2);
    expect(built.data.stats[0]!.domains).toBe(2);
    expect(built.data.stats[1]!.hashes).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('keeps the file when asked (for proxy workers), owner-only, and it reads back the same', async () => {
    const dir = join(tmp.dir, 'kept');
    const built = await buildInChild(specs, { dir, keep: true });
    expect(built.file).not.toBeNull();
    expect(statSync(built.file!).mode & 0o777).toBe(0o600);
    expect(untimed(readTableFile(built.file!))).toEqual(untimed(built.data));
  });

  it('removes the files a process that died left behind', async () => {
    const dir = join(tmp.dir, 'stale');
    mkdirSync(dir, { recursive: true });
    // No process has this pid (above any pid_max).
    writeFileSync(join(dir, '999999999-1.table'), 'left over');
    await buildInChild(specs, { dir });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives the stats alone, without a file', async () => {
    const stats = await statsInChild(specs);
    expect(stats.map((s) => s.domains + s.urls + s.hashes + s.expressions)).toEqual(buildMatcherData(specs).stats.map((s) => s.domains + s.urls + s.hashes + s.expressions));
  });

  it('fails when the child is killed before it finishes, leaving no file', async () => {
    const dir = join(tmp.dir, 'killed');
    await expect(buildInChild(specs, { dir, onChild: (child) => child.kill('SIGKILL') })).rejects.toThrow(/list build failed: the list-build process was killed \(SIGKILL\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails when the child cannot write its file (a full disk)', async () => {
    if (!existsSync('/dev/full')) return;
    const dir = join(tmp.dir, 'full');
    mkdirSync(dir, { recursive: true });
    // Writing through this link fails with ENOSPC, as on a full disk; removing it removes the link.
    const file = join(dir, 'out.table');
    symlinkSync('/dev/full', file);
    await expect(buildInChild(specs, { dir, file })).rejects.toThrow(/list build failed: .*ENOSPC/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync('/dev/full')).toBe(true);
  });

  it('fails with the child\'s error when the build throws', async () => {
    const broken = { ...specs[0]!, files: null } as unknown as ListSpec;
    await expect(buildInChild([broken], { dir: join(tmp.dir, 'throws') })).rejects.toThrow(/list build failed: TypeError/);
  });

  it('refuses a table file cut short, or one that is not a table file', () => {
    const file = join(tmp.dir, 'cut.table');
    writeTableFile(file, buildMatcherData(specs));
    truncateSync(file, statSync(file).size - 1);
    expect(() => readTableFile(file)).toThrow(/cut short/);
    writeFileSync(file, 'games.example.test\n'.repeat(4));
    expect(() => readTableFile(file)).toThrow(/not a list table file/);
  });
});

describe('the list service with its lists built in a child', () => {
  const school = join(tmp.dir, 'school');
  mkdirSync(school, { recursive: true });
  writeFileSync(join(school, 'domains'), 'before.example.test\n');
  const configFile = join(tmp.dir, 'schoolgate.yaml');
  writeFileSync(configFile, [
    `categories: ${CONFIG}/categories.yaml`,
    'lists:',
    '  sources:',
    `    - {name: school, format: list, path: ${school}, category: school-blocked, role: block}`,
  ].join('\n'));
  const logFile = join(tmp.dir, 'service.log');
  const log = createLogger({ level: 'info', destination: logFile, pretty: false });
  const logged = (msg: string): Record<string, unknown>[] => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

  it('keeps the old lists serving when the build fails, and reports it as a failed reload', async () => {
    const dataDir = join(tmp.dir, 'data-fails');
    const service = await ListService.start({ configFile, dataDir, log });
    const before = service.classifier;
    writeFileSync(join(school, 'domains'), 'after.example.test\n');
    // The folder for the tables is a file: the build cannot write there.
    rmSync(tableDir(dataDir), { recursive: true });
    writeFileSync(tableDir(dataDir), '');
    expect(await service.reload('test')).toBe(false);
    expect(service.classifier).toBe(before);
    expect(service.classifier.classify('https://before.example.test/').categories).toEqual(['school-blocked']);
    expect(logged('reload failed: the previous configuration and lists stay in use').at(-1)?.err).toMatch(/list-tables/);
    rmSync(tableDir(dataDir));
    expect(await service.reload('test')).toBe(true);
    expect(service.classifier.classify('https://after.example.test/').categories).toEqual(['school-blocked']);
    writeFileSync(join(school, 'domains'), 'before.example.test\n');
  });

  it('keeps its build in the state folder\'s cache: a start with the same list files reads it; a reload, a changed file or a damaged one builds', async () => {
    const dataDir = join(tmp.dir, 'data-kept');
    const cache = join(dataDir, 'cache');
    const kept = (): string[] => readdirSync(cache).filter((f) => f.startsWith('tables-'));
    keepParsedFiles(cache);
    // The list files were written moments ago: seen as they would be once settled.
    const settled = { configFile, dataDir, log, now: () => Date.now() + 60_000 };
    try {
      await ListService.start(settled);
      expect(logged('lists loaded').at(-1)?.tables).toBe('child');
      expect(kept()).toHaveLength(1);
      const again = await ListService.start({ configFile, dataDir, log });
      expect(logged('lists loaded').at(-1)?.tables).toBe('kept');
      expect(again.classifier.classify('https://before.example.test/').categories).toEqual(['school-blocked']);
      expect(await again.reload('test')).toBe(true);
      expect(logged('lists reloaded').at(-1)?.tables).toBe('child');

      writeFileSync(join(school, 'domains'), 'after.example.test\n');
      const changed = await ListService.start(settled);
      expect(logged('lists loaded').at(-1)?.tables).toBe('child');
      expect(changed.classifier.classify('https://after.example.test/').categories).toEqual(['school-blocked']);
      expect(changed.classifier.classify('https://before.example.test/').categories).toEqual([]);
      expect(kept()).toHaveLength(2); // the newest two

      for (const name of kept()) truncateSync(join(cache, name), 40);
      await ListService.start({ configFile, dataDir, log });
      expect(logged('lists loaded').at(-1)?.tables).toBe('child');
    } finally {
      keepParsedFiles(null);
      writeFileSync(join(school, 'domains'), 'before.example.test\n');
    }
  });

  it('does not keep a build of a list file changed within the last second, nor one changed during the build: the next start builds', async () => {
    const dataDir = join(tmp.dir, 'data-unsettled');
    const cache = join(dataDir, 'cache');
    keepParsedFiles(cache);
    try {
      writeFileSync(join(school, 'domains'), 'fresh.example.test\n');
      // Just written: another write within one tick of its times could leave its identity as it is.
      await ListService.start({ configFile, dataDir, log });
      expect(logged('lists loaded').at(-1)?.tables).toBe('child');
      expect(existsSync(cache) ? readdirSync(cache).filter((f) => f.startsWith('tables-')) : []).toEqual([]);
      const next = await ListService.start({ configFile, dataDir, log });
      expect(logged('lists loaded').at(-1)?.tables).toBe('child');
      expect(next.classifier.classify('https://fresh.example.test/').categories).toEqual(['school-blocked']);

      // Settled when seen, but rewritten (the same size) after: the tables' name is of the old text.
      const dir = join(tmp.dir, 'kept-unsettled');
      const seen = seeTables(dir, specs, Date.now() + 60_000);
      const built = join(tmp.dir, 'unsettled.table');
      writeTableFile(built, buildMatcherData(specs));
      expect(keepTables(dir, seeTables(dir, specs, Date.now() - 60_000), built)).toBe(false);
      writeFileSync(specs[0]!.files[0]!.path, readFileSync(specs[0]!.files[0]!.path, 'utf8').replace('games', 'gamez'));
      expect(keepTables(dir, seen, built)).toBe(false);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
      expect(keepTables(dir, seeTables(dir, specs, Date.now() + 60_000), built)).toBe(true);
      expect(readdirSync(dir)).toHaveLength(1);
    } finally {
      keepParsedFiles(null);
      writeFileSync(join(school, 'domains'), 'before.example.test\n');
      writeFileSync(specs[0]!.files[0]!.path, readFileSync(specs[0]!.files[0]!.path, 'utf8').replace('gamez', 'games'));
    }
  });

  it('keeps a build\'s file for proxy workers when asked, and a worker reads it instead of building', async () => {
    const primary = await ListService.start({ configFile, dataDir: join(tmp.dir, 'data-primary'), log, keepTables: () => true });
    const file = primary.takeTables();
    expect(file).not.toBeNull();
    expect(primary.takeTables()).toBeNull();
    const worker = await ListService.start({ configFile, dataDir: join(tmp.dir, 'data-primary'), log, tablesFrom: file! });
    expect(logged('lists loaded').at(-1)?.tables).toBe('shared');
    expect(worker.classifier.classify('https://before.example.test/').categories).toEqual(['school-blocked']);

    // A reload: the primary keeps the new build's file; the worker reads it.
    writeFileSync(join(school, 'domains'), 'after.example.test\n');
    expect(await primary.reload('test')).toBe(true);
    expect(logged('lists reloaded').at(-1)?.tables).toBe('child');
    const next = primary.takeTables()!;
    expect(next).not.toBe(file);
    expect(await worker.reload('test', next)).toBe(true);
    expect(logged('lists reloaded').at(-1)?.tables).toBe('shared');
    expect(worker.classifier.classify('https://after.example.test/').categories).toEqual(['school-blocked']);

    // A file of other lists, or one gone, is not used: the worker builds its own.
    const other = join(tmp.dir, 'other.table');
    writeTableFile(other, buildMatcherData(specs));
    expect(await worker.reload('test', other)).toBe(true);
    expect(logged('lists reloaded').at(-1)?.tables).toBe('child');
    expect(await worker.reload('test', join(tmp.dir, 'gone.table'))).toBe(true);
    expect(logged('lists reloaded').at(-1)?.tables).toBe('child');
    expect(worker.classifier.classify('https://after.example.test/').categories).toEqual(['school-blocked']);
    writeFileSync(join(school, 'domains'), 'before.example.test\n');
  });
});
