import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ILLEGAL_RAISES, loadSafeguardingFile, minimalSafeguardingConfig, SAFEGUARDING_CATEGORIES, type SafeguardingConfig,
} from '../../src/alerts/taxonomy.js';
import { BUILTIN_CATEGORIES, ILLEGAL_CATEGORIES } from '../../src/classify/categories.js';
import { PHRASE_CATEGORIES } from '../../src/classify/phrases.js';
import { loadCategoryMap, loadConfig, SHIPPED_SAFEGUARDING } from '../../src/config/load.js';
import { expectProblems, problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const registry = loadCategoryMap(join(CONFIG, 'categories.yaml'));
const GROUPS = new Set(['ks1', 'ks2', 'staff', 'guest']);
const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;

function write(text: string, name = `s${n++}.yaml`): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  return file;
}
const load = (text: string): SafeguardingConfig => loadSafeguardingFile(write(text), registry, GROUPS);
const problems = (text: string) => {
  const file = write(text);
  return { file, problems: problemsOf(() => loadSafeguardingFile(file, registry, GROUPS)) };
};

describe('the shipped safeguarding file', () => {
  const cfg = loadSafeguardingFile(join(CONFIG, 'safeguarding.yaml'), registry, GROUPS);

  it('names every safeguarding category, in the taxonomy order', () => {
    expect([...cfg.categories.keys()]).toEqual([...SAFEGUARDING_CATEGORIES]);
    for (const c of cfg.categories.values()) expect(c.label.length).toBeGreaterThan(3);
  });

  it('maps every phrase category to a concern', () => {
    expect([...cfg.byPhraseCategory.keys()].sort()).toEqual([...PHRASE_CATEGORIES].sort());
    expect(cfg.byPhraseCategory.get('self-harm')!.id).toBe('self-harm');
    expect(cfg.byPhraseCategory.get('extremism')!.id).toBe('radicalisation-extremism');
    expect(cfg.byPhraseCategory.get('grooming')!.id).toBe('grooming-sexual-exploitation');
    expect(cfg.byPhraseCategory.get('drugs')!.id).toBe('substance-misuse');
  });

  it('maps the inappropriate and safeguarding list categories, and UT1 lists by name', () => {
    for (const [list, id] of [['adult', 'adult-content'], ['drugs', 'substance-misuse'], ['self-harm', 'self-harm'], ['suicide', 'suicide'],
      ['violence', 'violence-weapons'], ['extremism', 'radicalisation-extremism'], ['grooming', 'grooming-sexual-exploitation'],
      ['bullying', 'bullying'], ['iwf', 'child-sexual-abuse'], ['terrorism', 'terrorism']] as const) {
      expect(cfg.byListCategory.get(list)?.id, list).toBe(id);
    }
    expect(cfg.byListName.get('ut1/hacking')?.id).toBe('criminal-activity');
    expect(cfg.byListCategory.has('games')).toBe(false);
  });

  it('sends suicide at every severity, others at danger only; search phrases about suicide are danger, adult list hits advisory', () => {
    const s = cfg.categories.get('suicide')!;
    expect([...s.immediate].sort()).toEqual(['advisory', 'caution', 'danger']);
    expect(s.severity.search).toBe('danger');
    expect([...cfg.categories.get('bullying')!.immediate]).toEqual(['danger']);
    expect(cfg.categories.get('adult-content')!.severity.list).toBe('advisory');
  });

  it('makes the illegal categories danger, sent at once', () => {
    for (const [list, id] of Object.entries(ILLEGAL_RAISES)) {
      const c = cfg.categories.get(id)!;
      expect(c.illegal).toBe(true);
      expect(c.listCategories).toContain(list);
      expect(c.severity.list).toBe('danger');
      expect(c.immediate.has('danger')).toBe(true);
    }
  });

  it('has no recipients, exclusions or mail server until the school adds them; folds over 10 minutes', () => {
    expect(cfg.recipients).toEqual({ dsl: [], deputies: [], webhooks: [] });
    expect(cfg.exclusions).toEqual([]);
    expect(cfg.email).toBeNull();
    expect(cfg.foldWindowMs).toBe(600_000);
  });

  it('is what a configuration without a safeguarding key uses', () => {
    const main = write(`categories: ${CONFIG}/categories.yaml\n`);
    expect(loadConfig(main).safeguarding.file).toBe(SHIPPED_SAFEGUARDING);
    expect(loadConfig(join(CONFIG, 'default.yaml')).safeguarding.categories.size).toBe(SAFEGUARDING_CATEGORIES.length);
  });
});

describe('illegal is not a setting', () => {
  it('covers every illegal list category', () => {
    expect(Object.keys(ILLEGAL_RAISES).sort()).toEqual([...ILLEGAL_CATEGORIES].sort());
    expect(BUILTIN_CATEGORIES.filter((c) => c.group === 'illegal').map((c) => c.id).sort()).toEqual(Object.keys(ILLEGAL_RAISES).sort());
  });

  it('keeps the illegal categories when the file leaves them out, and in the built-in minimum', () => {
    const cfg = load('categories:\n  bullying:\n    phrases: [bullying]\n');
    expect([...cfg.categories.keys()]).toEqual(['terrorism', 'child-sexual-abuse', 'bullying']);
    expect(cfg.byListCategory.get('iwf')!.id).toBe('child-sexual-abuse');
    const min = minimalSafeguardingConfig();
    expect([...min.byListCategory.entries()].map(([k, v]) => [k, v.id])).toEqual([['iwf', 'child-sexual-abuse'], ['terrorism', 'terrorism']]);
    expect(load('').categories.size).toBe(2);
  });

  it('refuses to move, lower or delay illegal-list attempts', () => {
    const { file, problems: p } = problems([
      'categories:',
      '  adult-content:',
      '    lists: [adult, iwf]',
      '  child-sexual-abuse:',
      '    lists: [grooming]',
      '  terrorism:',
      '    severity: { list: caution }',
      '    immediate: [caution]',
    ].join('\n'));
    expectProblems(p, file, [
      { line: 3, key: 'categories.adult-content.lists[1]', message: 'illegal is not a setting: "iwf" attempts always raise child-sexual-abuse' },
      { line: 7, key: 'categories.terrorism.severity', message: 'illegal is not a setting: attempts on an illegal list are always danger' },
      { line: 8, key: 'categories.terrorism.immediate', message: 'illegal is not a setting: danger alerts for illegal content are always sent at once' },
      { line: 5, key: 'categories.child-sexual-abuse.lists', message: 'illegal is not a setting: child-sexual-abuse must list "iwf"' },
      { line: 6, key: 'categories.terrorism.lists', message: 'illegal is not a setting: terrorism must list "terrorism"' },
    ]);
  });
});

describe('safeguarding file problems', () => {
  it('names file, line, key and fix for unknown names and values', () => {
    const { file, problems: p } = problems([
      'foldWindowMinutes: 0', //                     1
      'categories:', //                               2
      '  self-harm:', //                              3
      '    lists: [self-harm, no-such-category]', //  4
      '    phrases: [selfharm]', //                   5
      '    severity: { search: urgent, email: danger }', // 6
      '    immediate: [soon]', //                     7
      '  eating-disorders:', //                       8
      '    lists: [self-harm]', //                    9
      '  bullying:', //                               10
      '    lists: [self-harm, ut1/]', //              11
      '    colour: red', //                           12
      'digest: daily', //                             13
    ].join('\n'));
    expectProblems(p, file, [
      { line: 13, key: 'digest', message: 'unknown key "digest"' },
      { line: 1, key: 'foldWindowMinutes', message: 'must be at least 1, found 0' },
      { line: 4, key: 'categories.self-harm.lists[1]', message: 'unknown category "no-such-category"' },
      { line: 5, key: 'categories.self-harm.phrases[0]', message: 'unknown phrase category "selfharm"' },
      { line: 6, key: 'categories.self-harm.severity.email', message: 'unknown key "email"' },
      { line: 6, key: 'categories.self-harm.severity.search', message: '"urgent" is not allowed' },
      { line: 7, key: 'categories.self-harm.immediate[0]', message: '"soon" is not allowed' },
      { line: 8, key: 'categories.eating-disorders', message: 'unknown safeguarding category "eating-disorders"' },
      { line: 12, key: 'categories.bullying.colour', message: 'unknown key "colour"' },
      { line: 11, key: 'categories.bullying.lists[0]', message: '"self-harm" already raises self-harm (line 4)' },
      { line: 11, key: 'categories.bullying.lists[1]', message: '"ut1/" is not a list name' },
    ]);
    expect(p.find((x) => x.key === 'categories.self-harm.lists[1]')!.fix).toMatch(/category id from the category map/);
    expect(p.find((x) => x.key === 'categories.eating-disorders')!.fix).toContain('self-harm');
  });

  it('takes one severity for every trigger kind, caution where unsaid, and a page as high as a search unless said', () => {
    const cfg = load([
      'categories:',
      '  bullying:', '    phrases: [bullying]', '    severity: danger',
      '  adult-content:', '    lists: [adult]', '    severity: { search: advisory }',
      '  substance-misuse:', '    lists: [drugs]', '    severity: { search: danger, page: caution }',
    ].join('\n'));
    expect(cfg.categories.get('bullying')!.severity).toEqual({ list: 'danger', search: 'danger', url: 'danger', page: 'danger' });
    expect(cfg.categories.get('adult-content')!.severity).toEqual({ list: 'caution', search: 'advisory', url: 'caution', page: 'advisory' });
    expect(cfg.categories.get('substance-misuse')!.severity).toEqual({ list: 'caution', search: 'danger', url: 'caution', page: 'caution' });
    expect([...cfg.categories.get('adult-content')!.immediate]).toEqual(['danger']);
  });

  it('checks exclusions: one kind each, a valid value, a known group', () => {
    const { file, problems: p } = problems([
      'exclusions:',
      '  - { term: isis, group: ks2, reason: RE topic }',
      '  - { site: samaritans.org }',
      '  - { url: example.org/topic }',
      '  - { group: ks2 }',
      '  - { term: a, site: b.example }',
      '  - { term: "!!!" }',
      '  - { site: example.org/page }',
      '  - { term: isis, group: year9 }',
      '  - { url: "exa mple.org/x" }',
    ].join('\n'));
    expectProblems(p, file, [
      { line: 5, key: 'exclusions[3]', message: 'an exclusion needs "term", "site" or "url"' },
      { line: 6, key: 'exclusions[4]', message: 'an exclusion has one of term, site, not several' },
      { line: 7, key: 'exclusions[5].term', message: '"!!!" has no letters or digits to match' },
      { line: 8, key: 'exclusions[6].site', message: '"example.org/page" is an address, not a site' },
      { line: 9, key: 'exclusions[7].group', message: 'unknown group "year9"' },
      { line: 10, key: 'exclusions[8].url', message: /^"exa mple\.org\/x" is not an address/ },
    ]);
    const good = load('exclusions:\n  - { term: isis, group: ks2, reason: RE topic }\n  - { site: samaritans.org }\n  - { url: "https://example.org/topic" }\n');
    expect(good.exclusions).toEqual([
      { kind: 'term', value: 'isis', group: 'ks2', reason: 'RE topic' },
      { kind: 'site', value: 'samaritans.org' },
      { kind: 'url', value: 'https://example.org/topic' },
    ]);
  });

  it('reads recipients and webhook secrets, inline or from a file', () => {
    const secretFile = write('  0123456789abcdef0123456789abcdef\n', 'hook.secret');
    chmodSync(secretFile, 0o600);
    const cfg = load([
      'recipients:',
      '  dsl: [{ name: Jane Smith, email: dsl@school.example }]',
      '  deputies: [{ name: Sam Jones, email: deputy@school.example }]',
      '  webhooks:',
      '    - { url: "https://cases.school.example/hook", secretFile: hook.secret }',
      '    - { url: "http://127.0.0.1:9000/hook", secret: "a-secret-of-16-chars" }',
    ].join('\n'));
    expect(cfg.recipients).toEqual({
      dsl: [{ name: 'Jane Smith', email: 'dsl@school.example' }],
      deputies: [{ name: 'Sam Jones', email: 'deputy@school.example' }],
      webhooks: [
        { url: 'https://cases.school.example/hook', secret: '0123456789abcdef0123456789abcdef' },
        { url: 'http://127.0.0.1:9000/hook', secret: 'a-secret-of-16-chars' },
      ],
    });
  });

  it('refuses recipients that cannot work or would leak', () => {
    const { file, problems: p } = problems([
      'recipients:', //                                                            1
      '  dsl: [{ name: Jane, email: not-an-address }]', //                          2
      '  webhooks:', //                                                            3
      '    - { url: "http://cases.school.example/hook", secret: "0123456789abcdef" }', // 4
      '    - { url: "https://cases.school.example/hook", secret: short }', //        5
      '    - { url: "https://cases.school.example/hook" }', //                      6
      '    - { url: "https://cases.school.example/hook", secretFile: missing.secret }', // 7
      'email:', //                                                                 8
      '  from: Schoolgate <sg@school.example>', //                                   9
      '  smtp: { host: smtp.school.example, tls: maybe, user: sg }', //                10
    ].join('\n'));
    expectProblems(p, file, [
      { line: 2, key: 'recipients.dsl[0].email', message: '"not-an-address" is not valid' },
      { line: 4, key: 'recipients.webhooks[0].url', message: '"http://cases.school.example/hook" must be an https:// address (http:// only to this machine)' },
      { line: 5, key: 'recipients.webhooks[1].secret', message: 'the secret must be at least 16 characters' },
      { line: 6, key: 'recipients.webhooks[2]', message: 'a webhook needs "secret" or "secretFile" (one of them)' },
      { line: 7, key: 'recipients.webhooks[3].secretFile', message: /^cannot read .*missing\.secret: ENOENT$/ },
      { line: 10, key: 'email.smtp.tls', message: '"maybe" is not allowed' },
      { line: 10, key: 'email.smtp', message: 'give both "user" and "password" (or "passwordFile"), or neither' },
    ]);
  });

  it('reads the mail server, with the TLS mode following the port', () => {
    const pw = write('hunter2hunter2\n', 'smtp.password');
    const cfg = load(`email:\n  from: Schoolgate <sg@school.example>\n  smtp: { host: smtp.school.example, port: 465, user: sg, passwordFile: ${pw} }\n`);
    expect(cfg.email).toEqual({ host: 'smtp.school.example', port: 465, tls: 'implicit', user: 'sg', password: 'hunter2hunter2', from: 'Schoolgate <sg@school.example>' });
    expect(load('email:\n  from: sg@school.example\n  smtp: { host: localhost }\n').email).toEqual({ host: 'localhost', port: 587, tls: 'starttls', from: 'sg@school.example' });
  });
});

describe('the safeguarding key of the main configuration', () => {
  it('names the file, relative to the configuration, and passes on its problems with their own file and line', () => {
    write('categories:\n  bullying:\n    lists: [bullying]\n', 'mine.yaml');
    const main = write(`categories: ${CONFIG}/categories.yaml\nsafeguarding: mine.yaml\n`);
    const cfg = loadConfig(main).safeguarding;
    expect(cfg.file).toBe(join(tmp.dir, 'mine.yaml'));
    expect([...cfg.categories.keys()]).toEqual(['terrorism', 'child-sexual-abuse', 'bullying']);

    const bad = write('exclusions:\n  - { term: isis, group: year9 }\n', 'bad.yaml');
    const badMain = write(`categories: ${CONFIG}/categories.yaml\npolicy:\n  groups:\n    ks2: { label: KS2 }\nsafeguarding: bad.yaml\n`);
    expectProblems(problemsOf(() => loadConfig(badMain)), bad, [{ line: 2, key: 'exclusions[0].group', message: 'unknown group "year9"' }]);
  });

  it('reports a missing file against the main configuration', () => {
    const main = write(`categories: ${CONFIG}/categories.yaml\nsafeguarding: nowhere.yaml\n`);
    const p = problemsOf(() => loadConfig(main));
    expect(p).toEqual([{ file: join(tmp.dir, 'nowhere.yaml'), line: 0, key: '', message: 'file not found', fix: 'check the path' }]);
  });
});
