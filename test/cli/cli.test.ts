import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { previewAlerts } from '../../src/alerts/detect.js';
import { classificationJson } from '../../src/classify/classifier.js';
import { loadConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { ROOT, schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { shared } from '../helpers/shared.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const data = join(tmp.dir, 'data');

describe('help', () => {
  it('lists the commands', async () => {
    const r = await schoolgate(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: schoolgate <command>/);
    for (const c of ['start', 'classify', 'lists']) expect(r.stdout).toContain(`  ${c}`);
  });

  it.each(['classify', 'lists', 'start'])('%s --help', async (command) => {
    const r = await schoolgate([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: schoolgate ${command}`);
    expect(r.stdout).toContain('--config');
    expect(r.stdout).toContain('--data');
  });

  it('rejects an unknown command and an unknown option with exit code 2', async () => {
    const a = await schoolgate(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "frobnicate"');
    const b = await schoolgate(['classify', '--frob', 'x']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/Unknown option '--frob'.*\n.*classify --help/);
  });
});

describe('classify', () => {
  it('proves every category with its self-test host', async () => {
    const r = await schoolgate(['classify', 'https://gambling.selftest.invalid/', '--json', '--data', data]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.categories).toEqual(['gambling']);
    expect(j.searchTerm).toBeNull();
    expect(j.phrases).toEqual([]);
    expect(j.matches[0]).toMatchObject({ list: 'selftest/gambling', kind: 'domain', entry: 'gambling.selftest.invalid', line: 2 });
  });

  it('withholds the entry of an illegal-list match', async () => {
    const r = await schoolgate(['classify', 'iwf.selftest.invalid', '--json', '--data', data]);
    expect(JSON.parse(r.stdout).categories).toEqual(['iwf']);
  });

  it('reads the search term and flags safeguarding phrases', async () => {
    const r = await schoolgate(['classify', 'https://www.google.co.uk/search?q=how+to+k1ll+myself', '--json', '--data', data]);
    const j = JSON.parse(r.stdout);
    expect(j.searchTerm).toBe('how to kill myself');
    expect(j.phrases).toEqual(expect.arrayContaining([expect.objectContaining({ category: 'suicide' })]));
    expect(j.flagged.map((f: { category: string }) => f.category)).toContain('suicide');
  });

  it('prints the classification and the alerts a dry run raises, in --json and in words, as previewAlerts gives them', async () => {
    const cfg = loadConfig(join(ROOT, 'config/default.yaml'));
    const { classifier } = await loadLists(cfg, { dataDir: data });
    // A search whose alert the learned search model adds (no list raises it): both paths read
    // the dry run.
    const url = 'https://www.google.com/search?q=my+nan+is+gone+and+i+want+to+be+with+her+tonight';
    const c = classifier.classify(url);
    const alerts = previewAlerts(c, cfg.safeguarding);
    expect(alerts.length).toBeGreaterThan(0);
    expect(c.learned?.length).toBeGreaterThan(0);
    const [json, words] = await Promise.all([schoolgate(['classify', url, '--json', '--data', data]), schoolgate(['classify', url, '--data', data])]);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify({ ...classificationJson(c), alerts })));
    expect(words.stdout.split('\n').filter((l) => l.startsWith('alerts '))).toEqual([`alerts      ${alerts.map((a) => `${a.category} (${a.severity})`).join(', ')}`]);
    // The model's line says what it does: here it raises the concern, at danger, on its own.
    expect(words.stdout.split('\n').filter((l) => / {2}learned model .*\(raises suicide to danger\)$/.test(l))).toHaveLength(1);
  });

  it('shows the school allow entry beating nothing else, in words', async () => {
    const r = await schoolgate(['classify', 'https://www.bbc.co.uk/bitesize/topics', '--data', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/categories\s+education/);
    expect(r.stdout).toMatch(/education\s+allow\s+url\s+bbc\.co\.uk\/bitesize\s+\(school-allow, line 4\)/);
  });

  it('classifies against a squidGuard folder with --lists', async () => {
    const r = await schoolgate(['classify', 'https://163.facebook.com/', '--json', '--lists', shared('bench-set-small'), '--data', data]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).categories).toContain('social-networking');
  });

  it('keeps what it compiled in the default state folder, made as start makes it when there is none yet, for the next run to read', async () => {
    // A checkout before its first start: ./data is not there yet.
    const checkout = join(tmp.dir, 'checkout-before-first-start');
    mkdirSync(checkout);
    const fresh = join(checkout, 'data');
    const url = 'https://www.google.co.uk/search?q=how+to+k1ll+myself';
    const args = ['classify', url, '--json', '--config', join(ROOT, 'config/default.yaml')];
    const first = await schoolgate(args, { cwd: checkout });
    expect(first.code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    const kept = readdirSync(join(fresh, 'cache'));
    expect(kept.filter((f) => f.startsWith('phrases-') && f.endsWith('.v8'))).toHaveLength(1);
    // The next run reads the rules back and answers the same.
    const second = await schoolgate(args, { cwd: checkout });
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    // A state folder named by --data is never made: a mistyped one must not be left behind.
    const typo = join(tmp.dir, 'no-such-data');
    expect((await schoolgate(['classify', url, '--json', '--data', typo])).code).toBe(0);
    expect(existsSync(typo)).toBe(false);
  });

  it('says clearly when a URL cannot be parsed', async () => {
    const r = await schoolgate(['classify', 'http://[::1/', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a valid URL');
  });

  it('reports configuration errors with file and line, exit code 2', async () => {
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'school:\n  timezone: Nowhere/Land\n');
    const r = await schoolgate(['classify', 'example.com', '--config', bad, '--data', data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2: school.timezone: "Nowhere/Land" is not a time zone`);
  });
});

describe('lists', () => {
  it('reports every list, by category, and a source not downloaded yet without calling a fresh install a failure', async () => {
    const r = await schoolgate(['lists', '--json', '--data', data]);
    const j = JSON.parse(r.stdout);
    const selftest = j.lists.filter((l: { name: string }) => l.name.startsWith('selftest/'));
    expect(selftest.length).toBe(26);
    expect(j.categories.gambling.entries).toBeGreaterThanOrEqual(1);
    expect(j.errors).toEqual([]);
    expect(j.notDownloaded).toEqual(['ut1: not downloaded yet (run "schoolgate lists update --source ut1")']);
    expect(r.code).toBe(0);
    const text = await schoolgate(['lists', '--data', data]);
    expect([text.code, text.stderr]).toEqual([0, '']);
    expect(text.stdout).toContain('\nNot downloaded yet (normal on a fresh install, not an error): until "schoolgate lists update" has fetched them (it needs internet access), these filter nothing:\n  ut1: not downloaded yet');
  });

  it('still exits 1 for a list that did not load: a missing folder, or a downloaded copy that has gone', async () => {
    const dir = join(tmp.dir, 'broken');
    mkdirSync(join(dir, 'lists', 'remote'), { recursive: true });
    symlinkSync(join(dir, 'lists', 'remote', 'gone'), join(dir, 'lists', 'remote', 'current'));
    const cfg = join(tmp.dir, 'broken.yaml');
    writeFileSync(cfg, [
      `categories: ${ROOT}/config/categories.yaml`,
      'lists:',
      '  sources:',
      `    - {name: local, format: squidguard, path: ${join(dir, 'no-such-folder')}}`,
      '    - {name: remote, format: squidguard, url: "https://lists.example.invalid/blacklists.tar.gz"}',
      '    - {name: later, format: squidguard, url: "https://lists.example.invalid/other.tar.gz"}',
      '',
    ].join('\n'));
    const r = await schoolgate(['lists', '--config', cfg, '--data', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `error: local: ${join(dir, 'no-such-folder')} does not exist`,
      `error: remote: its downloaded copy ${join(dir, 'lists', 'remote', 'current')} is missing (run "schoolgate lists update --source remote" to fetch it again)`,
    ]);
    expect(r.stdout).toContain('  later: not downloaded yet');
  });

  it('shows skipped lines with file, line and reason', async () => {
    const dir = join(tmp.dir, 'sg');
    mkdirSync(join(dir, 'gambling'), { recursive: true });
    writeFileSync(join(dir, 'gambling', 'domains'), 'bet.example\n*.wild.example\nfine.example\n');
    const cfg = join(tmp.dir, 'lists.yaml');
    writeFileSync(cfg, `categories: ${ROOT}/config/categories.yaml\nlists:\n  sources:\n    - {name: local, format: squidguard, path: ${dir}}\n`);
    const r = await schoolgate(['lists', '--config', cfg, '--data', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/local\/gambling\s+gambling\s+category\s+2\s+0\s+0\s+1/);
    expect(r.stdout).toContain('1 a wildcard, which Schoolgate does not support');
    expect(r.stdout).toContain(`${join(dir, 'gambling', 'domains')}:2: wildcard: *.wild.example`);
  });

  it('says there is nothing to reload when Schoolgate is not running', async () => {
    const r = await schoolgate(['lists', 'reload', '--data', join(tmp.dir, 'nothing-here')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no running Schoolgate');
  });
});

describe('start', () => {
  it('loads the lists, writes its pid, reloads on SIGHUP and stops on SIGTERM', async () => {
    const dataDir = join(tmp.dir, 'running');
    const p = spawnSchoolgate(['start', '--data', dataDir, '--admin-port', '0']);
    await p.waitFor(/Schoolgate is running/);
    const pid = Number(readFileSync(join(dataDir, 'schoolgate.pid'), 'utf8'));
    expect(pid).toBe(p.child.pid);
    const reload = await schoolgate(['lists', 'reload', '--data', dataDir]);
    expect(reload.code).toBe(0);
    expect(reload.stdout).toContain(`asked Schoolgate (pid ${pid}) to reload`);
    const line = await p.waitFor(/lists reloaded/);
    expect(JSON.parse(line)).toMatchObject({ msg: 'lists reloaded', lists: expect.any(Number) });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(existsSync(join(dataDir, 'schoolgate.pid'))).toBe(false);
  });
});
