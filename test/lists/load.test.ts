import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

function configWith(sources: string[]): string {
  const file = join(tmp.dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, [`categories: ${CONFIG}/categories.yaml`, 'lists:', '  sources:', ...sources.map((s) => `    - ${s}`)].join('\n'));
  return file;
}

describe('loading the configured lists', () => {
  it('loads an IWF-style file and warns while it is readable by other users', async () => {
    const iwf = join(tmp.dir, 'iwf.txt');
    writeFileSync(iwf, 'host0.iwf-synthetic.test/i/abc\nwhole.iwf-synthetic.test\n');
    chmodSync(iwf, 0o644);
    const cfg = loadConfig(configWith([`{name: iwf, format: iwf, category: iwf, path: ${iwf}}`]));
    const open = await loadLists(cfg, { dataDir: join(tmp.dir, 'data') });
    expect(open.report.errors).toEqual([`iwf: ${iwf} can be read by other users; a sensitive list must be owner-only (chmod 600 ${iwf})`]);
    expect(open.classifier.classify('https://host0.iwf-synthetic.test/i/abc').categories).toEqual(['iwf']);
    chmodSync(iwf, 0o600);
    expect((await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).report.errors).toEqual([]);
  });

  it('reports a squidGuard list with no category and loads the rest', async () => {
    const dir = join(tmp.dir, 'sg');
    for (const [list, entry] of [['gambling', 'bet.example'], ['mystery', 'odd.example']] as const) {
      mkdirSync(join(dir, list), { recursive: true });
      writeFileSync(join(dir, list, 'domains'), `${entry}\n`);
    }
    const cfg = loadConfig(configWith([`{name: local, format: squidguard, path: ${dir}}`]));
    const { classifier, report } = await loadLists(cfg, { dataDir: join(tmp.dir, 'data') });
    expect(report.errors).toEqual(['local/mystery: no category for list "mystery" (add "mystery: <category>" under lists: in the category map)']);
    expect(classifier.classify('bet.example').categories).toEqual(['gambling']);
    expect(classifier.classify('odd.example').categories).toEqual([]);
  });

  it('reports a missing local source and loads the others', async () => {
    const cfg = loadConfig(configWith([`{name: gone, format: domains, category: games, path: ${join(tmp.dir, 'nope')}}`]));
    const { classifier, report } = await loadLists(cfg, { dataDir: join(tmp.dir, 'data') });
    expect(report.errors).toEqual([`gone: ${join(tmp.dir, 'nope')} does not exist`]);
    expect(classifier.classify('games.selftest.invalid').categories).toEqual(['games']);
  });

  it('never lets an illegal list be an allow list or show its entries, whatever the source says', async () => {
    const dir = join(tmp.dir, 'allow-sg');
    for (const [list, file, entry] of [['terrorism', 'domains', 'bad-terror.example.test'], ['iwf', 'urls', 'bad-iwf.example.test/page.html'], ['education', 'domains', 'school.example.test']] as const) {
      mkdirSync(join(dir, list), { recursive: true });
      writeFileSync(join(dir, list, file), `${entry}\n`);
    }
    const cfg = loadConfig(configWith([`{name: allowed, format: squidguard, role: allow, path: ${dir}}`]));
    const { classifier, report } = await loadLists(cfg, { dataDir: join(tmp.dir, 'data') });
    expect(report.errors).toEqual([
      'allowed/iwf: illegal is not a setting: a iwf list cannot be an allow list; it is loaded as a category list',
      'allowed/terrorism: illegal is not a setting: a terrorism list cannot be an allow list; it is loaded as a category list',
    ]);
    const terror = classifier.classify('https://bad-terror.example.test/').matches[0]!;
    expect([terror.category, terror.role, terror.entry]).toEqual(['terrorism', 'category', '(withheld: entry of a sensitive list)']);
    const iwf = classifier.classify('https://bad-iwf.example.test/page.html').matches[0]!;
    expect([iwf.category, iwf.role, iwf.entry]).toEqual(['iwf', 'category', '(withheld: entry of a sensitive list)']);
    expect(classifier.classify('https://school.example.test/').matches[0]!.role).toBe('allow');
  });

  it('loads the other lists of a folder that holds a dangling link', async () => {
    const dir = join(tmp.dir, 'dangling');
    mkdirSync(join(dir, 'gambling'), { recursive: true });
    writeFileSync(join(dir, 'gambling', 'domains'), 'bet.example.test\n');
    symlinkSync(join(tmp.dir, 'nowhere'), join(dir, 'broken'));
    const cfg = loadConfig(configWith([`{name: local, format: squidguard, path: ${dir}}`]));
    const { classifier, report } = await loadLists(cfg, { dataDir: join(tmp.dir, 'data') });
    expect(report.errors).toEqual([]);
    expect(classifier.classify('bet.example.test').categories).toEqual(['gambling']);
    expect(classifier.classify('gambling.selftest.invalid').categories).toEqual(['gambling']);
  });
});
