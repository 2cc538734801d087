// Building off the event loop (in a child process), and swapping snapshots under load: lookups keep being answered
// while a reload of the full bench set runs, and a failed reload leaves the old lists serving.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMatcherData } from '../../src/classify/build.js';
import { buildInChild } from '../../src/classify/build-child.js';
import { Matcher } from '../../src/classify/matcher.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { ListService } from '../../src/lists/service.js';
import { scanSquidGuard } from '../../src/lists/squidguard.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/lists.js';
import { labelledTraffic, shared } from '../helpers/shared.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

describe('building in a child process', () => {
  it('gives the same answers as building in-process', async () => {
    const { specs } = scanSquidGuard(shared('bench-set-small'), { source: 'small', role: 'category', sensitive: false, categoryOf: (n) => n });
    const inWorker = new Matcher((await buildInChild(specs, { dir: join(tmp.dir, 'tables') })).data);
    const inProcess = new Matcher(buildMatcherData(specs));
    expect(inWorker.domainCount).toBe(inProcess.domainCount);
    expect(inWorker.domainCount).toBeGreaterThan(30_000);
    for (const row of labelledTraffic(100)) {
      const u = normaliseUrl(row.url);
      expect(inWorker.match(u)).toEqual(inProcess.match(u));
    }
  });

  it('reports an unreadable list from the child without failing the others', async () => {
    const { specs } = scanSquidGuard(shared('bench-set-small'), { source: 'small', role: 'category', sensitive: false, categoryOf: (n) => n });
    const broken = { ...specs[0]!, name: 'broken', files: [{ kind: 'domains' as const, path: join(tmp.dir, 'no-such-file') }] };
    const { data } = await buildInChild([broken, ...specs.slice(0, 3)], { dir: join(tmp.dir, 'tables') });
    expect(data.stats[0]!.error).toMatch(/no such file/);
    expect(data.stats[1]!.domains).toBeGreaterThan(0);
  });
});

describe('the list service', () => {
  const school = join(tmp.dir, 'school');
  mkdirSync(school, { recursive: true });
  writeFileSync(join(school, 'domains'), 'before.example.test\n');
  const configFile = join(tmp.dir, 'schoolgate.yaml');
  const config = (extra = '') => writeFileSync(configFile, [
    `categories: ${CONFIG}/categories.yaml`,
    'lists:',
    '  sources:',
    `    - {name: bench, format: squidguard, path: ${shared('bench-set')}}`,
    `    - {name: school, format: list, path: ${school}, category: school-blocked, role: block}`,
    extra,
  ].join('\n'));
  config();
  const log = createLogger({ level: 'silent' });

  it('keeps answering lookups while a reload of 1.7 M entries builds, then swaps', async () => {
    const service = await ListService.start({ configFile, dataDir: join(tmp.dir, 'data'), log });
    const first = service.classifier;
    expect(first.classify('https://before.example.test/').categories).toEqual(['school-blocked']);
    expect(first.classify('https://after.example.test/').categories).toEqual([]);

    writeFileSync(join(school, 'domains'), 'after.example.test\n');
    const urls = labelledTraffic(50).map((r) => r.url);
    let lookups = 0;
    let reloading = true;
    const seen = new Set<unknown>();
    const spin = (async () => {
      while (reloading) {
        const c = service.classifier;
        seen.add(c);
        c.classify(urls[lookups % urls.length]!);
        lookups++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const swapped = await service.reload('test');
    reloading = false;
    await spin;

    expect(swapped).toBe(true);
    // The event loop stayed free: many lookups ran while the child built the new lists.
    expect(lookups).toBeGreaterThan(50);
    expect(seen.has(first)).toBe(true);
    expect(service.classifier).not.toBe(first);
    expect(service.classifier.classify('https://after.example.test/').categories).toEqual(['school-blocked']);
    expect(service.classifier.classify('https://before.example.test/').categories).toEqual([]);
    // The old snapshot still answers as it did for requests that started on it.
    expect(first.classify('https://before.example.test/').categories).toEqual(['school-blocked']);
  });

  it('keeps the old snapshot when the new configuration is invalid, and folds concurrent reloads', async () => {
    config();
    const service = await ListService.start({ configFile, dataDir: join(tmp.dir, 'data'), log });
    const before = service.classifier;
    config('bogus: true');
    expect(await service.reload('bad config')).toBe(false);
    expect(service.classifier).toBe(before);
    config();
    const results = await Promise.all([service.reload('one'), service.reload('two'), service.reload('three')]);
    expect(results.every((r) => r === true)).toBe(true);
    expect(service.reloads).toBe(3); // bad, one, and one folded follow-up for two and three
    expect(service.classifier).not.toBe(before);
  });
});
