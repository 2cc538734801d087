import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { parseRefresh } from '../../src/lists/config.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;

/** Writes a config file whose category map, engines and phrases are the shipped ones. */
function write(body: string, name = `c${n++}.yaml`): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, body);
  return file;
}
const SHIPPED = `categories: ${CONFIG}/categories.yaml\n`;

function problemsOf(file: string): string[] {
  try {
    loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the shipped configuration', () => {
  const cfg = loadConfig(join(CONFIG, 'default.yaml'));

  it('loads, with the self-test list always first', () => {
    expect(cfg.sources[0]!.name).toBe('selftest');
    expect(cfg.sources.map((s) => s.name)).toEqual(['selftest', 'school-allow', 'school-block', 'ut1']);
  });

  it('resolves paths against the config file and fills in defaults', () => {
    const allow = cfg.sources.find((s) => s.name === 'school-allow')!;
    expect(allow.path).toBe(resolve(CONFIG, '../blocklists/school/allow'));
    expect(allow.role).toBe('allow');
    const ut1 = cfg.sources.find((s) => s.name === 'ut1')!;
    expect(ut1.refresh).toEqual({ everyMs: 24 * 3_600_000, label: 'nightly' });
    expect(ut1.minKeepRatio).toBe(0.5);
    expect(ut1.sensitive).toBe(false);
  });

  it('maps UT1 list names, French and English, onto Schoolgate categories', () => {
    expect(cfg.categories.categoryOf('agressif')).toBe('violence');
    expect(cfg.categories.categoryOf('aggressive')).toBe('violence');
    expect(cfg.categories.categoryOf('drogue')).toBe('drugs');
    expect(cfg.categories.categoryOf('redirector')).toBe('filter-avoidance');
    expect(cfg.categories.categoryOf('warez')).toBe('piracy');
    expect(cfg.categories.categoryOf('gambling')).toBe('gambling');
    expect(cfg.categories.categoryOf('iwf')).toBe('iwf');
    expect(cfg.categories.categoryOf('no-such-list')).toBeUndefined();
  });

  it('maps every list of the shared bench set', () => {
    const counts = ['ads', 'adult', 'aggressive', 'ai', 'arjel', 'associations_religieuses', 'astrology', 'audio-video', 'bank', 'bitcoin', 'blog', 'celebrity', 'chat', 'child', 'cleaning', 'cooking', 'cryptojacking', 'dangerous_material', 'dating', 'ddos', 'dialer', 'doh', 'download', 'drugs', 'dynamic-dns', 'educational_games', 'examen_pix', 'exceptions_liste_bu', 'fakenews', 'filehosting', 'financial', 'forums', 'gambling', 'games', 'hacking', 'jobsearch', 'lingerie', 'liste_blanche', 'liste_bu', 'malware', 'manga', 'marketingware', 'mixed_adult', 'mobile-phone', 'phishing', 'press', 'radio', 'reaffected', 'redirector', 'remote-control', 'residential-proxies', 'scam', 'sect', 'sexual_education', 'shopping', 'shortener', 'social_networks', 'special', 'sports', 'stalkerware', 'tracking', 'translation', 'tricheur', 'tricheur_pix', 'typosquatting', 'update', 'vpn', 'warez', 'webhosting', 'webmail'];
    expect(counts.filter((l) => cfg.categories.categoryOf(l) === undefined)).toEqual([]);
  });

  it('loads search engines and phrase lists in three languages', () => {
    expect(cfg.searchEngines.map((e) => e.name)).toEqual(expect.arrayContaining(['google', 'bing', 'duckduckgo', 'youtube', 'wikipedia']));
    expect(new Set(cfg.phrases.entries.map((e) => e.language))).toEqual(new Set(['en', 'pl', 'ur-latn']));
    expect(cfg.phrases.threshold).toBe(10);
  });
});

describe('configuration errors name the file, the line, the key and the fix', () => {
  it.each([
    ['an unknown top-level key', `${SHIPPED}lits: {}\n`, /c\d+\.yaml:2: lits: unknown key "lits" \(fix: use one of: school, categories/],
    ['a YAML syntax error', `${SHIPPED}lists:\n  sources: [\n`, /c\d+\.yaml:4: YAML syntax/],
    ['an unknown format', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: csv\n      path: x\n      category: games\n`, /:5: lists\.sources\[0\]\.format: "csv" is not allowed \(fix: use one of: squidguard, list/],
    ['a source with neither path nor url', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      category: games\n`, /:4: lists\.sources\[0\]: a source needs "path"/],
    ['a source with both', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      category: games\n      path: a\n      url: https://example.com/x\n`, /lists\.sources\[0\]\.url: a source has either "path" or "url", not both/],
    ['a plain-http url', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      category: games\n      url: http://example.com/list\n`, /:7: lists\.sources\[0\]\.url: .* \(fix: lists are downloaded over https:\/\/ only\)/],
    ['an unknown category', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      category: gaming\n      path: a\n`, /:6: lists\.sources\[0\]\.category: unknown category "gaming"/],
    ['a single-file source without a category', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      path: a\n`, /lists\.sources\[0\]: a domains source needs "category"/],
    ['an illegal list as an allow list', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: iwf\n      category: iwf\n      role: allow\n      path: a\n`, /:7: lists\.sources\[0\]\.role: illegal is not a setting: a iwf list cannot be an allow list/],
    ['an illegal list made visible', `${SHIPPED}lists:\n  sources:\n    - name: x\n      format: domains\n      category: terrorism\n      sensitive: false\n      path: a\n`, /lists\.sources\[0\]\.sensitive: a terrorism list is always sensitive/],
    ['a duplicate source name', `${SHIPPED}lists:\n  sources:\n    - {name: x, format: domains, category: games, path: a}\n    - {name: x, format: domains, category: games, path: b}\n`, /:5: lists\.sources\[1\]\.name: source name "x" is used twice/],
    ['the reserved self-test name', `${SHIPPED}lists:\n  sources:\n    - {name: selftest, format: domains, category: games, path: a}\n`, /"selftest" is reserved/],
    ['a bad source name', `${SHIPPED}lists:\n  sources:\n    - {name: My List, format: domains, category: games, path: a}\n`, /lists\.sources\[0\]\.name: "My List" is not valid \(fix: use lower-case letters, digits and hyphens\)/],
    ['a bad refresh', `${SHIPPED}lists:\n  sources:\n    - {name: x, format: domains, category: games, url: "https://example.com/x", refresh: fortnightly}\n`, /refresh: "fortnightly" is not a refresh schedule/],
    ['a refresh on a local source', `${SHIPPED}lists:\n  sources:\n    - {name: x, format: domains, category: games, path: a, refresh: nightly}\n`, /refresh: only downloaded \(url:\) sources are refreshed/],
    ['a bad time zone', `${SHIPPED}school:\n  timezone: Mars/Olympus\n`, /:3: school\.timezone: "Mars\/Olympus" is not a time zone/],
    ['a staff app address that is not a URL', `${SHIPPED}school:\n  staffAppUrl: staff.school\n`, /:3: school\.staffAppUrl: "staff\.school" is not a URL/],
    ['a staff app address with a query', `${SHIPPED}school:\n  staffAppUrl: "https://staff.school.test/?x=1"\n`, /school\.staffAppUrl: .* must be an http:\/\/ or https:\/\/ address without \? or #/],
    ['a missing category map', 'categories: nowhere.yaml\n', /nowhere\.yaml: file not found/],
    ['a bad cache size', `${SHIPPED}classifier:\n  cacheSize: -1\n`, /classifier\.cacheSize: must be at least 0/],
    ['a queue address that is not Redis', `${SHIPPED}redis:\n  url: "http://127.0.0.1:6379"\n`, /:3: redis\.url: "http:\/\/127\.0\.0\.1:6379\/?" is not a redis:\/\/ or rediss:\/\/ address/],
    ['an unknown key under redis', `${SHIPPED}redis:\n  host: 127.0.0.1\n`, /:3: redis\.host: unknown key "host" \(fix: use one of: url, prefix\)/],
    ['an unknown phrase threshold category', `${SHIPPED}phrases:\n  thresholds:\n    sadness: 5\n`, /phrases\.thresholds\.sadness: unknown category "sadness"/],
  ])('%s', (_label, body, pattern) => {
    expect(problemsOf(write(body)).join('\n')).toMatch(pattern);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(write(`${SHIPPED}bogus: 1\nschool:\n  timezone: Nowhere/Land\nlists:\n  sources:\n    - {name: x, format: csv, path: a}\n`));
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['an unknown category in the map', 'lists:\n  agressif: agression\n', /:2: lists\.agressif: unknown category "agression"/],
    ['a custom category shadowing a built-in one', 'categories:\n  adult: Grown-ups\n', /:2: categories\.adult: "adult" is a built-in category/],
    ['a bad custom id', 'categories:\n  Bad Id: x\n', /categories\.Bad Id: "Bad Id" is not a valid category id/],
  ])('category map: %s', (_label, body, pattern) => {
    const map = write(body, `map${n++}.yaml`);
    expect(problemsOf(write(`categories: ${map}\n`)).join('\n')).toMatch(pattern);
  });
});

describe('refresh schedules', () => {
  it.each([
    ['nightly', 24], ['twice-daily', 12], ['hourly', 1], ['weekly', 168], ['6h', 6], ['2d', 48], ['90m', 1.5],
  ])('%s', (text, hours) => {
    expect(parseRefresh(text)?.everyMs).toBe(hours * 3_600_000);
  });
  it('never, and what is refused', () => {
    expect(parseRefresh('never')).toBeNull();
    expect(parseRefresh('1m')).toBeUndefined();
    expect(parseRefresh('soon')).toBeUndefined();
  });
});
