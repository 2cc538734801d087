// Detection on real classifications: the shipped configuration, the self-test lists, the
// shipped search engines and policy, and a small phrase list of the tests' own
// (test/fixtures/phrases/detect.yaml), so that tuning the shipped lists never changes them.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, previewAlerts, type AlertCandidate, type PhraseTrigger } from '../../src/alerts/detect.js';
import { ExclusionSet, type Exclusion } from '../../src/alerts/exclusions.js';
import { loadSafeguardingFile } from '../../src/alerts/taxonomy.js';
import { buildMatcherData } from '../../src/classify/build.js';
import { Classifier } from '../../src/classify/classifier.js';
import { Matcher } from '../../src/classify/matcher.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher, PAGE_FAR_CONTEXT_LONE_SHARE, scoreHits } from '../../src/classify/phrases.js';
import { SearchTermExtractor } from '../../src/classify/search-terms.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { decide } from '../../src/policy/decide.js';
import { schoolgate } from '../helpers/cli.js';
import { tempDir, writeLists } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const MONDAY_10AM = new Date('2026-11-16T10:00:00Z');
const tmp = tempDir();
afterAll(tmp.cleanup);

let cfg: SchoolgateConfig;
let classifier: Classifier;
beforeAll(async () => {
  const shipped = loadConfig(join(CONFIG, 'default.yaml'));
  cfg = { ...shipped, phrases: { ...shipped.phrases, ...loadLexicon([resolve(import.meta.dirname, '../fixtures/phrases/detect.yaml')]) } };
  classifier = (await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).classifier;
});

/** What Schoolgate raises for `url` requested by someone in `group`, with `exclusions`. */
function alertsFor(url: string, group = 'ks2', exclusions: readonly Exclusion[] = [], using: Classifier = classifier): readonly AlertCandidate[] {
  const c = using.classify(url);
  return detect(c, decide({ group }, c, cfg.policy, MONDAY_10AM), cfg.safeguarding, new ExclusionSet(exclusions), group);
}
const summary = (a: readonly AlertCandidate[]): string[] => a.map((x) => `${x.category}:${x.severity}:${x.action}`);

describe('search terms', () => {
  it('raises a self-harm phrase in a Google search as danger, with the term as typed and the address', () => {
    const [a, ...rest] = alertsFor('https://www.google.co.uk/search?q=how+to+hide+my+cuts+from+mum');
    expect(rest).toEqual([]);
    expect(a).toEqual({
      category: 'self-harm', severity: 'danger', illegal: false, action: 'allow',
      triggers: [{ kind: 'phrase', severity: 'danger', source: 'search', category: 'self-harm', phrase: 'hide my cuts', weight: 20, matched: 'hide my cuts', text: 'how to hide my cuts from mum' }],
      searchTerm: { engine: 'google', raw: 'how to hide my cuts from mum', partial: false },
      url: 'https://www.google.co.uk/search?q=how+to+hide+my+cuts+from+mum',
    });
  });

  it('reads a suicide phrase through leetspeak, keeping what was typed', () => {
    const [a] = alertsFor('https://www.bing.com/search?q=how+to+k1ll+mys3lf');
    expect(a!.category).toBe('suicide');
    expect(a!.severity).toBe('danger');
    expect(a!.triggers.map((t) => (t as PhraseTrigger).phrase)).toEqual(['how to kill myself', 'kill @self']);
    expect(a!.searchTerm!.raw).toBe('how to k1ll mys3lf');
  });

  it('counts autocomplete (partial) terms', () => {
    const [a] = alertsFor('https://www.google.com/complete/search?q=i+want+to+di&client=gws-wiz');
    expect(a).toBeUndefined();
    const [b] = alertsFor('https://www.google.com/complete/search?q=i+want+to+die+now&client=gws-wiz');
    expect(b!.category).toBe('suicide');
    expect(b!.searchTerm).toEqual({ engine: 'google', raw: 'i want to die now', partial: true });
  });

  it('reads the shipped Polish and Roman Urdu lists', () => {
    expect(summary(alertsFor('https://duckduckgo.com/?q=jak+sie+zabic'))).toEqual(['suicide:danger:allow']);
    expect(summary(alertsFor('https://www.google.com/search?q=khudkushi+kaise+karen'))).toEqual(['suicide:danger:allow']);
  });

  it('raises each concern a search touches, the most severe first, and no context words as triggers', () => {
    expect(summary(alertsFor('https://www.google.com/search?q=buy+weed+and+kill+myself'))).toEqual(['suicide:danger:allow', 'substance-misuse:caution:allow']);
    // "join isis documentary": the context word lowers extremism below the threshold.
    expect(alertsFor('https://www.bing.com/search?q=join+isis+documentary')).toEqual([]);
    const [drugs] = alertsFor('https://www.google.com/search?q=buy+cocaine+cheap+gcse');
    expect(drugs!.triggers.map((t) => (t as PhraseTrigger).phrase)).toEqual(['buy cocaine', 'cocaine']);
  });

  it('raises nothing for ordinary searches and sites, with no allocation', () => {
    const none = alertsFor('https://www.google.com/search?q=killer+whale+facts');
    expect(none).toEqual([]);
    expect(alertsFor('https://games.selftest.invalid/')).toBe(none);
    expect(alertsFor('https://www.bbc.co.uk/bitesize')).toBe(none);
  });
});

describe('addresses', () => {
  it('raises a phrase in the words of an address at the url severity', () => {
    const [a] = alertsFor('https://blog.example.com/posts/i-want-to-die');
    expect(a).toMatchObject({ category: 'suicide', severity: 'caution', searchTerm: null, url: 'https://blog.example.com/posts/i-want-to-die' });
    // The engine scores it danger; an address may raise suicide at caution at most.
    expect(a!.triggers).toEqual([{ kind: 'phrase', severity: 'caution', source: 'url', category: 'suicide', phrase: 'want to die', weight: 20, matched: 'want to die', text: 'https://blog.example.com/posts/i-want-to-die' }]);
  });

  it('raises list matches with list, entry and line, for every group and whatever the filter did', () => {
    const trigger = { kind: 'list', severity: 'advisory', category: 'adult', list: 'selftest/adult', entry: 'adult.selftest.invalid', line: 2 };
    for (const group of ['ks1', 'ks2', 'staff', 'guest']) {
      const [a] = alertsFor('https://adult.selftest.invalid/', group);
      expect(a).toMatchObject({ category: 'adult-content', severity: 'advisory', action: 'block', triggers: [trigger] });
    }
    // Staff are warned on self-harm sites and pupils blocked: both raise the alert, each with what happened.
    expect(summary(alertsFor('https://self-harm.selftest.invalid/', 'staff'))).toEqual(['self-harm:caution:warn']);
    expect(summary(alertsFor('https://self-harm.selftest.invalid/', 'ks2'))).toEqual(['self-harm:caution:block']);
    // Search engines are open to KS2: the concern is raised all the same.
    expect(summary(alertsFor('https://www.google.com/search?q=pro+ana+tips'))).toEqual(['self-harm:danger:allow']);
  });

  it('takes the highest severity of a category\'s triggers', () => {
    const [a] = alertsFor('https://suicide.selftest.invalid/search?q=x');
    expect(a!.severity).toBe('caution');
    const [b] = alertsFor('https://www.google.com/search?q=suicide.selftest.invalid+kill+myself');
    expect(b!.severity).toBe('danger');
  });
});

describe('illegal-list attempts', () => {
  it('raise child-sexual-abuse at danger, blocked, with neither entry nor address, for everyone', () => {
    for (const group of ['ks2', 'staff', 'guest']) {
      const out = alertsFor('http://iwf.selftest.invalid/some/page?x=1', group);
      expect(out).toEqual([{
        category: 'child-sexual-abuse', severity: 'danger', illegal: true, action: 'block',
        triggers: [{ kind: 'list', severity: 'danger', category: 'iwf', list: 'selftest/iwf' }], searchTerm: null, url: null,
      }]);
    }
    expect(summary(alertsFor('https://terrorism.selftest.invalid/'))).toEqual(['terrorism:danger:block']);
  });

  it('keep the address out of every other alert the same request raises', () => {
    const out = alertsFor('http://iwf.selftest.invalid/how-to-kill-myself');
    expect(summary(out)).toEqual(['child-sexual-abuse:danger:block', 'suicide:caution:block']);
    expect(JSON.stringify(out)).not.toContain('iwf.selftest.invalid');
    expect(out[1]!.triggers).toEqual([
      { kind: 'phrase', severity: 'caution', source: 'url', category: 'suicide', phrase: 'how to kill myself', weight: 20, matched: 'how to kill myself' },
      { kind: 'phrase', severity: 'caution', source: 'url', category: 'suicide', phrase: 'kill @self', weight: 20, matched: 'kill myself' },
    ]);
  });

  it('raise their own concern even where the list is mapped by name to another', () => {
    const file = join(tmp.dir, 'by-name.yaml');
    writeFileSync(file, 'categories:\n  adult-content:\n    lists: [selftest/iwf, adult]\n');
    const remapped = loadSafeguardingFile(file, cfg.categories);
    const c = classifier.classify('http://iwf.selftest.invalid/');
    expect(detect(c, { action: 'block' }, remapped, ExclusionSet.EMPTY, 'ks2').map((a) => a.category)).toEqual(['child-sexual-abuse']);
  });

  it('can never be excluded, by site, address or term', () => {
    const all: Exclusion[] = [
      { kind: 'site', value: 'selftest.invalid' }, { kind: 'url', value: 'iwf.selftest.invalid/' }, { kind: 'term', value: 'kill' },
    ];
    expect(summary(alertsFor('http://iwf.selftest.invalid/how-to-kill-myself', 'ks2', all))).toEqual(['child-sexual-abuse:danger:block']);
    expect(summary(alertsFor('https://terrorism.selftest.invalid/', 'ks2', all))).toEqual(['terrorism:danger:block']);
  });
});

describe('exclusions', () => {
  const isis: Exclusion = { kind: 'term', value: 'ISIS', group: 'ks2', reason: 'RE topic' };

  it('remove phrase triggers holding a term, for that group only', () => {
    const url = 'https://www.google.com/search?q=join+isis';
    expect(alertsFor(url, 'ks2', [isis])).toEqual([]);
    expect(summary(alertsFor(url, 'staff', [isis]))).toEqual(['radicalisation-extremism:danger:allow']);
    expect(summary(alertsFor(url, 'staff', [{ kind: 'term', value: 'isis' }]))).toEqual([]);
  });

  it('match whole words, never silencing another phrase of the same search', () => {
    // "crisis" holds "isis" as letters, not as a word.
    expect(summary(alertsFor('https://www.google.com/search?q=join+crisis+want+to+die', 'ks2', [isis]))).toEqual(['suicide:danger:allow']);
    // Excluding "isis" does not silence "want to die" next to it.
    expect(summary(alertsFor('https://www.google.com/search?q=isis+want+to+die', 'ks2', [isis]))).toEqual(['suicide:danger:allow']);
  });

  it('cover a phrase found inside the excluded words (a song title), and keep the others', () => {
    const song: Exclusion = { kind: 'term', value: 'Killing Myself to Live' };
    expect(alertsFor('https://www.google.com/search?q=killing+myself+to+live+lyrics', 'ks2', [song])).toEqual([]);
    const [a] = alertsFor('https://www.google.com/search?q=killing+myself+to+live+lyrics+want+to+die', 'ks2', [song]);
    expect(a!.triggers.map((t) => (t as PhraseTrigger).phrase)).toEqual(['want to die']);
    // Without the rest of the title, the phrase is not inside it.
    expect(summary(alertsFor('https://www.google.com/search?q=killing+myself+slowly', 'ks2', [song]))).toEqual(['suicide:danger:allow']);
  });

  it('cover a combination only when every part lies inside one occurrence of the term', () => {
    const term: Exclusion = { kind: 'term', value: 'hurt my self' };
    const url = (q: string): string => `https://www.google.com/search?q=${q.replaceAll(' ', '+')}`;
    expect(summary(alertsFor(url('why do i hurt my self')))).toEqual(['self-harm:danger:allow']);
    expect(alertsFor(url('why do i hurt my self'), 'ks2', [term])).toEqual([]);
    // The same parts, but not as the excluded words: still raised.
    expect(summary(alertsFor(url('i hurt badly my self'), 'ks2', [term]))).toEqual(['self-harm:danger:allow']);
    // A term the rule's matched words hold is covered too.
    expect(alertsFor(url('i hurt badly my self'), 'ks2', [{ kind: 'term', value: 'hurt' }])).toEqual([]);
  });

  it('work on page text as on searches and addresses', () => {
    const page = (exclusions: readonly Exclusion[]) => {
      const c = classifier.classifyPage('https://www.example.com/lyrics', 'Lyrics: Killing Myself to Live, track 3. Buy the album.');
      return detect(c, { action: 'allow' }, cfg.safeguarding, new ExclusionSet(exclusions), 'ks2');
    };
    expect(summary(page([]))).toEqual(['suicide:danger:allow']);
    expect(page([{ kind: 'term', value: 'Killing Myself to Live' }])).toEqual([]);
    expect(page([{ kind: 'site', value: 'example.com' }])).toEqual([]);
  });

  it('score a page again as a page when a term removes some of its hits', () => {
    // Two phrases of intent; a "headache" in the sidebar, far from both. A term exclusion takes
    // the song title away and the rest is scored again: as a page, where context far from the
    // phrase takes at most half (caution), not as a search, where it would cancel it.
    const filler = 'Threads, members, rules and the latest posts from every board. '.repeat(3);
    const text = `Lyrics: Killing Myself to Live, track 3. ${filler} I want to die. ${filler} Popular: headache remedies.`;
    const c = classifier.classifyPage('https://forum.example.com/t/1', text);
    const page = (exclusions: readonly Exclusion[]) => detect(c, { action: 'allow' }, cfg.safeguarding, new ExclusionSet(exclusions), 'ks2');
    expect(summary(page([]))).toEqual(['suicide:danger:allow']);
    // What is left, "want to die" (20), is the page's one piece without intent: as a page, the
    // far "headache" takes PAGE_FAR_CONTEXT_LONE_SHARE of it (8 left, below caution); as a
    // search it would take it all.
    expect(page([{ kind: 'term', value: 'Killing Myself to Live' }])).toEqual([]);
    const kept = c.phrases.filter((h) => h.source === 'page' && h.category === 'suicide' && h.phrase !== 'kill @self');
    expect(kept.map((h) => h.phrase).sort()).toEqual(['headache', 'want to die']);
    expect(scoreHits(kept, true)).toBeCloseTo(20 * (1 - PAGE_FAR_CONTEXT_LONE_SHARE));
    expect(scoreHits(kept)).toBe(0);
  });

  it('keep a category whose list triggers are not covered by a term', () => {
    const [a] = alertsFor('https://suicide.selftest.invalid/i-want-to-die', 'ks2', [{ kind: 'term', value: 'want to die' }]);
    expect(a!.triggers.map((t) => t.kind)).toEqual(['list']);
  });

  it('cover a site and its subdomains, or an address prefix at path boundaries', () => {
    const site: Exclusion = { kind: 'site', value: 'example.com' };
    expect(alertsFor('https://blog.example.com/posts/i-want-to-die', 'ks2', [site])).toEqual([]);
    expect(summary(alertsFor('https://example.org/posts/i-want-to-die', 'ks2', [site]))).toEqual(['suicide:caution:allow']);
    const page: Exclusion = { kind: 'url', value: 'https://blog.example.com/posts', group: 'ks2' };
    expect(alertsFor('https://blog.example.com/posts/i-want-to-die', 'ks2', [page])).toEqual([]);
    expect(summary(alertsFor('https://blog.example.com/postscript/i-want-to-die', 'ks2', [page]))).toEqual(['suicide:caution:allow']);
    expect(summary(alertsFor('https://www.blog.example.com/posts/i-want-to-die', 'staff', [page]))).toEqual(['suicide:caution:allow']);
    expect(alertsFor('https://adult.selftest.invalid/', 'ks2', [{ kind: 'site', value: 'adult.selftest.invalid' }])).toEqual([]);
  });

  it('refuse a value that is not a term, site or address', () => {
    expect(() => new ExclusionSet([{ kind: 'site', value: 'example.com/page' }])).toThrow(/is an address, not a site/);
    expect(() => new ExclusionSet([{ kind: 'term', value: '…' }])).toThrow(/no letters or digits/);
  });
});

describe('list roles and sensitive lists', () => {
  it('ignores the school\'s allow entries and withholds the entries of a sensitive list', () => {
    const lists = join(tmp.dir, 'roles');
    const c = new Classifier({
      matcher: new Matcher(buildMatcherData(writeLists(lists, [
        { name: 'drug-support', category: 'drugs', role: 'allow', files: { domains: 'talktofrank.example.test\n' } },
        { name: 'drugs', files: { domains: 'dealer.example.test\n' } },
        { name: 'private-drugs', category: 'drugs', sensitive: true, files: { domains: 'secret-dealer.example.test\n' } },
        { name: 'school-block', category: 'drugs', role: 'block', files: { domains: 'blocked-dealer.example.test\n' } },
      ]))),
      search: new SearchTermExtractor(cfg.searchEngines),
      phrases: buildPhraseMatcher(cfg.phrases),
      cacheSize: 0,
    });
    expect(alertsFor('https://talktofrank.example.test/', 'ks2', [], c)).toEqual([]);
    expect(alertsFor('https://dealer.example.test/', 'ks2', [], c)[0]!.triggers).toEqual([
      { kind: 'list', severity: 'advisory', category: 'drugs', list: 'drugs', entry: 'dealer.example.test', line: 1 },
    ]);
    expect(alertsFor('https://secret-dealer.example.test/', 'ks2', [], c)[0]!.triggers).toEqual([
      { kind: 'list', severity: 'advisory', category: 'drugs', list: 'private-drugs' },
    ]);
    expect(summary(alertsFor('https://blocked-dealer.example.test/', 'ks2', [], c))).toEqual(['substance-misuse:advisory:block']);
  });
});

describe('the dry run', () => {
  it('previewAlerts gives category and severity before exclusions', () => {
    expect(previewAlerts(classifier.classify('https://www.google.com/search?q=join+isis'), cfg.safeguarding)).toEqual([{ category: 'radicalisation-extremism', severity: 'danger' }]);
    expect(previewAlerts(classifier.classify('https://example.com/'), cfg.safeguarding)).toEqual([]);
  });

  it('schoolgate classify --json reports alerts', async () => {
    const data = join(tmp.dir, 'cli-data');
    const r = await schoolgate(['classify', 'https://www.google.co.uk/search?q=how+to+k1ll+myself', '--json', '--data', data]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { alerts: unknown; categories: unknown };
    expect(j.alerts).toEqual([{ category: 'suicide', severity: 'danger' }]);
    const iwf = await schoolgate(['classify', 'iwf.selftest.invalid', '--data', data]);
    expect(iwf.stdout).toContain('alerts      child-sexual-abuse (danger)');
  });
});
