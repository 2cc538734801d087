import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { expectProblems, problemsOf as problemsFrom } from '../helpers/config-problems.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import {
  loadSearchEngines, MAX_TERM_LENGTH, SearchTermExtractor, type SearchEngineConfig, type SearchTerm,
} from '../../src/classify/search-terms.js';

const ENGINES_FILE = fileURLToPath(new URL('../../config/search-engines.yaml', import.meta.url));
const engines = loadSearchEngines(ENGINES_FILE);
const extractor = new SearchTermExtractor(engines);
const extract = (url: string): SearchTerm | null => extractor.extract(normaliseUrl(url));

describe('shipped search engines', () => {
  it('names every engine the school expects', () => {
    expect([...new Set(engines.map((e) => e.name))].sort()).toEqual(['bing', 'duckduckgo', 'ecosia', 'google', 'wikipedia', 'yahoo', 'youtube']);
  });

  it('has both full searches and suggestions for every engine', () => {
    for (const name of new Set(engines.map((e) => e.name))) {
      const rules = engines.filter((e) => e.name === name).flatMap((e) => e.rules);
      expect(rules.some((r) => !r.partial), name).toBe(true);
      expect(rules.some((r) => r.partial), name).toBe(true);
    }
  });

  // [url, engine, raw, partial]
  const cases: [string, string, string, boolean][] = [
    // Google, in several countries
    ['https://www.google.com/search?q=how+to+stay+safe+online&hl=en', 'google', 'how to stay safe online', false],
    ['https://www.google.co.uk/search?q=revision+tips&source=hp', 'google', 'revision tips', false],
    ['https://www.google.com.pk/search?q=urdu+poetry', 'google', 'urdu poetry', false],
    ['https://www.google.pl/search?q=jak+si%C4%99+uczy%C4%87', 'google', 'jak się uczyć', false],
    ['https://www.google.de/search?q=hallo', 'google', 'hallo', false],
    ['https://www.google.com.au/search?q=kangaroo', 'google', 'kangaroo', false],
    ['https://www.google.co.jp/search?q=sushi', 'google', 'sushi', false],
    ['https://www.google.ie/search?q=dublin', 'google', 'dublin', false],
    ['https://google.com/search?q=no+www', 'google', 'no www', false],
    ['https://google.co.uk/search?q=no+www+uk', 'google', 'no www uk', false],
    ['https://www.google.com/search?tbm=isch&q=cats', 'google', 'cats', false],
    ['https://WWW.GOOGLE.COM/search?q=upper+case+host', 'google', 'upper case host', false],
    ['https://www.google.com//search?q=double+slash', 'google', 'double slash', false],
    ['https://www.google.com/complete/search?q=how+to&client=gws-wiz', 'google', 'how to', true],
    ['https://www.google.co.uk/complete/search?client=gws-wiz&q=revis', 'google', 'revis', true],
    ['https://suggestqueries.google.com/complete/search?client=firefox&q=minec', 'google', 'minec', true],
    // Bing
    ['https://www.bing.com/search?q=cats&form=QBLH', 'bing', 'cats', false],
    ['https://bing.com/search?q=cats', 'bing', 'cats', false],
    ['https://www.bing.com/images/search?q=cat+pictures', 'bing', 'cat pictures', false],
    ['https://www.bing.com/videos/search?q=cat+videos', 'bing', 'cat videos', false],
    ['https://www.bing.com/AS/Suggestions?pt=page.home&qry=ca&cp=2&cvid=1', 'bing', 'ca', true],
    ['https://www.bing.com/as/suggestions?qry=lower+case+path', 'bing', 'lower case path', true],
    ['https://www.bing.com/osjson.aspx?query=ca', 'bing', 'ca', true],
    // DuckDuckGo
    ['https://duckduckgo.com/?q=cats&t=h_&ia=web', 'duckduckgo', 'cats', false],
    ['https://duckduckgo.com/?t=h_&q=cats+and+dogs', 'duckduckgo', 'cats and dogs', false],
    ['https://html.duckduckgo.com/html/?q=cats', 'duckduckgo', 'cats', false],
    ['https://html.duckduckgo.com/html?q=cats', 'duckduckgo', 'cats', false],
    ['https://lite.duckduckgo.com/lite/?q=cats', 'duckduckgo', 'cats', false],
    ['https://duckduckgo.com/ac/?q=ca&kl=wt-wt', 'duckduckgo', 'ca', true],
    // Yahoo
    ['https://search.yahoo.com/search?p=cats&fr=yfp-t', 'yahoo', 'cats', false],
    ['https://uk.search.yahoo.com/search?p=cats', 'yahoo', 'cats', false],
    ['https://uk.search.yahoo.com/search;_ylt=AwrE1x;_ylc=X1MDMjc?p=cats&fr=sfp', 'yahoo', 'cats', false],
    ['https://search.yahoo.com/sugg/gossip/gossip-us-ura/?command=ca&output=sd1', 'yahoo', 'ca', true],
    ['https://uk.search.yahoo.com/sugg/gossip/gossip-gb-ura/?output=sd1&command=cat', 'yahoo', 'cat', true],
    // Ecosia
    ['https://www.ecosia.org/search?method=index&q=trees', 'ecosia', 'trees', false],
    ['https://www.ecosia.org/images?q=trees', 'ecosia', 'trees', false],
    ['https://ac.ecosia.org/autocomplete?q=tre&type=list&mkt=en-gb', 'ecosia', 'tre', true],
    // YouTube
    ['https://www.youtube.com/results?search_query=minecraft+songs', 'youtube', 'minecraft songs', false],
    ['https://m.youtube.com/results?search_query=minecraft&sp=EgIQAQ%3D%3D', 'youtube', 'minecraft', false],
    ['https://youtube.com/results?search_query=no+www', 'youtube', 'no www', false],
    ['https://suggestqueries-clients6.youtube.com/complete/search?client=youtube&ds=yt&q=mine', 'youtube', 'mine', true],
    // Wikipedia, in any language and on the mobile site
    ['https://en.wikipedia.org/w/index.php?search=photosynthesis&title=Special%3ASearch&go=Go', 'wikipedia', 'photosynthesis', false],
    ['https://en.wikipedia.org/wiki/Special:Search?search=photosynthesis', 'wikipedia', 'photosynthesis', false],
    ['https://en.wikipedia.org/wiki/Special%3ASearch?search=escaped+colon', 'wikipedia', 'escaped colon', false],
    ['https://en.wikipedia.org/wiki/special:search?search=lower+case', 'wikipedia', 'lower case', false],
    ['https://en.m.wikipedia.org/w/index.php?search=mobile+search', 'wikipedia', 'mobile search', false],
    ['https://pl.wikipedia.org/w/index.php?search=fotosynteza', 'wikipedia', 'fotosynteza', false],
    ['https://ur.wikipedia.org/w/index.php?search=%D8%AE%D9%88%D8%AF%DA%A9%D8%B4%DB%8C', 'wikipedia', 'خودکشی', false],
    ['https://en.wikipedia.org/w/api.php?action=opensearch&format=json&search=photos', 'wikipedia', 'photos', true],
    ['https://en.wikipedia.org/w/api.php?search=photos&action=open%73earch', 'wikipedia', 'photos', true],
    ['https://en.wikipedia.org/w/rest.php/v1/search/title?q=photo&limit=10', 'wikipedia', 'photo', true],
  ];

  it.each(cases)('%s → %s %j (partial %s)', (url, engine, raw, partial) => {
    const term = extract(url);
    expect(term).not.toBeNull();
    expect(term?.engine).toBe(engine);
    expect(term?.raw).toBe(raw);
    expect(term?.partial).toBe(partial);
  });

  it.each(cases)('folds the term of %s', (url, _engine, raw) => {
    const term = extract(url);
    expect(term?.text).toBe(raw.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/[^\p{L}\p{N}]+/gu, ' ').trim());
  });
});

describe('search terms: decoding and folding', () => {
  // [url, raw, text]
  const cases: [string, string, string][] = [
    ['https://www.google.com/search?q=How+To+K1LL+mys3lf', 'How To K1LL mys3lf', 'how to kill myself'],
    ['https://www.google.pl/search?q=jak+si%C4%99+zabi%C4%87', 'jak się zabić', 'jak sie zabic'],
    ['https://www.google.com/search?q=++spaced++++out++', 'spaced out', 'spaced out'],
    ['https://www.google.com/search?q=tab%09and%0Anewline', 'tab and newline', 'tab and newline'],
    ['https://www.google.com/search?q=c%2B%2B+tutorial', 'c++ tutorial', 'c tutorial'],
    ['https://www.google.com/search?q=a%3Db', 'a=b', 'a b'],
    ['https://www.google.com/search?q=a=b', 'a=b', 'a b'],
    ['https://www.google.com/search?q=year+7+maths', 'year 7 maths', 'year 7 maths'],
    ['https://www.google.com/search?q=first&q=second', 'first', 'first'],
    ['https://www.google.com/search?aq=cats&q=dogs', 'dogs', 'dogs'],
    ['https://www.google.com/search?qq=cats&q=dogs', 'dogs', 'dogs'],
    ['https://www.google.com/search?q=!!!', '!!!', ''],
    // malformed percent-escapes are kept as written, never thrown on
    ['https://www.google.com/search?q=100%+sure', '100% sure', '100 sure'],
    ['https://www.google.com/search?q=%zz', '%zz', 'zz'],
    ['https://www.google.com/search?q=50%', '50%', '50'],
    ['https://www.google.com/search?q=caf%E9', 'caf%E9', 'caf e9'],
    // A kept escape is text like any other: "C3" mixes letters and a leet digit.
    ['https://www.google.com/search?q=%C3', '%C3', 'ce'],
    ['https://www.google.com/search?q=%F0%9F%98%80+cats', '😀 cats', 'cats'],
    ['https://www.google.com/search?q=%ED%A0%80x', '%ED%A0%80x', 'ed ao 8ox'],
  ];

  it.each(cases)('%s → raw %j, text %j', (url, raw, text) => {
    const term = extract(url);
    expect(term?.raw).toBe(raw);
    expect(term?.text).toBe(text);
  });

  it('cuts very long terms', () => {
    const term = extract(`https://www.google.com/search?q=${'ab+'.repeat(1000)}`);
    expect(term?.raw.length).toBeLessThanOrEqual(MAX_TERM_LENGTH);
    expect(term?.raw.startsWith('ab ab ab')).toBe(true);
  });

  it('never cuts a surrogate pair in half', () => {
    const term = extract(`https://www.google.com/search?q=${'a'.repeat(MAX_TERM_LENGTH - 1)}%F0%9F%98%80`);
    expect(term?.raw).toBe('a'.repeat(MAX_TERM_LENGTH - 1));
  });
});

describe('search terms: URLs that are not searches', () => {
  const cases: [string, string][] = [
    ['a news site with a q parameter', 'https://www.bbc.co.uk/search?q=cats'],
    ['a Google service that is not search', 'https://maps.google.com/search?q=cats'],
    ['a Google path that is not a rule', 'https://www.google.com/maps?q=cats'],
    ['a longer path than the rule', 'https://www.google.com/searchbyimage?q=cats'],
    ['a path under the rule', 'https://www.google.com/search/more?q=cats'],
    ['a look-alike host', 'https://www.google.evil.com/search?q=cats'],
    ['a host ending in an engine name', 'https://google.com.evil.net/search?q=cats'],
    ['an engine name as a subdomain', 'https://www.google.example.co.uk/search?q=cats'],
    ['Wikipedia without a subdomain', 'https://wikipedia.org/w/index.php?search=cats'],
    ['a host ending like Wikipedia', 'https://notwikipedia.org/w/index.php?search=cats'],
    ['Wikipedia as a subdomain of another site', 'https://en.wikipedia.org.example.com/w/index.php?search=cats'],
    ['an IPv4 address', 'http://142.250.187.196/search?q=cats'],
    ['an IPv6 address', 'http://[2a00:1450:4009:81f::2004]/search?q=cats'],
    ['a single-label host', 'http://intranet/search?q=cats'],
    ['no query at all', 'https://www.google.com/search'],
    ['an empty term', 'https://www.google.com/search?q='],
    ['a term of only spaces', 'https://www.google.com/search?q=+++%20'],
    ['a parameter without a value', 'https://www.google.com/search?q'],
    ['no search parameter', 'https://www.bing.com/search?form=QBLH'],
    ['a parameter that only ends like q', 'https://www.google.com/search?qq=cats'],
    ['DuckDuckGo home page', 'https://duckduckgo.com/?t=h_'],
    ['Wikipedia API without action=opensearch', 'https://en.wikipedia.org/w/api.php?action=query&search=cats'],
    ['Wikipedia API without any action', 'https://en.wikipedia.org/w/api.php?search=cats'],
    ['Wikipedia article', 'https://en.wikipedia.org/wiki/Cat?search=cats'],
    ['YouTube search parameter on the wrong path', 'https://www.youtube.com/watch?v=abc&search_query=cats'],
    ['the Google param on YouTube results', 'https://www.youtube.com/results?q=cats'],
    ['Yahoo path that only starts like /search', 'https://search.yahoo.com/searchx?p=cats'],
    ['a path with an escaped slash', 'https://www.google.com/search%2Fx?q=cats'],
  ];

  it.each(cases)('%s: %s → null', (_why, url) => {
    expect(extract(url)).toBeNull();
  });
});

describe('SearchTermExtractor', () => {
  const rule = (path: string, param = 'q', partial = false) => ({ path, param, partial });

  it('prefers an exact host over a wildcard, and the longer of two wildcards', () => {
    const x = new SearchTermExtractor([
      { name: 'exact', hosts: ['www.google.com'], rules: [rule('/search')] },
      { name: 'any-suffix', hosts: ['www.google.*'], rules: [rule('/search')] },
      { name: 'wiki', hosts: ['*.wikipedia.org'], rules: [rule('/search')] },
      { name: 'wiki-mobile', hosts: ['*.m.wikipedia.org'], rules: [rule('/search')] },
    ]);
    const rows: [string, string][] = [
      ['https://www.google.com/search?q=x', 'exact'],
      ['https://www.google.de/search?q=x', 'any-suffix'],
      ['https://en.wikipedia.org/search?q=x', 'wiki'],
      ['https://en.m.wikipedia.org/search?q=x', 'wiki-mobile'],
      ['https://a.b.wikipedia.org/search?q=x', 'wiki'],
    ];
    for (const [url, engine] of rows) expect(x.extract(normaliseUrl(url))?.engine, url).toBe(engine);
  });

  it('treats a trailing * in a path as a prefix', () => {
    const x = new SearchTermExtractor([{ name: 'e', hosts: ['example.org'], rules: [rule('/find/*')] }]);
    const rows: [string, boolean][] = [
      ['https://example.org/find/?q=x', true],
      ['https://example.org/find/a/b?q=x', true],
      ['https://example.org/find?q=x', false],
      ['https://example.org/finder/?q=x', false],
    ];
    for (const [url, found] of rows) expect(x.extract(normaliseUrl(url)) !== null, url).toBe(found);
  });

  it('compares paths with their escapes decoded, and a plus as a plus', () => {
    const x = new SearchTermExtractor([{ name: 'e', hosts: ['example.org'], rules: [rule('/c++/find:all')] }]);
    const rows: [string, boolean][] = [
      ['https://example.org/c++/find:all?q=x', true],
      ['https://example.org/c%2B%2B/find%3Aall?q=x', true],
      ['https://example.org/C++/FIND:ALL?q=x', true],
      ['https://example.org/c%20%20/find:all?q=x', false],
    ];
    for (const [url, found] of rows) expect(x.extract(normaliseUrl(url)) !== null, url).toBe(found);
  });

  it('tries the rules in order until one has its parameter', () => {
    const x = new SearchTermExtractor([{ name: 'e', hosts: ['example.org'], rules: [rule('/s', 'q'), rule('/s', 'query', true)] }]);
    expect(x.extract(normaliseUrl('https://example.org/s?q=a&query=b'))).toEqual({ engine: 'e', text: 'a', raw: 'a', partial: false });
    expect(x.extract(normaliseUrl('https://example.org/s?query=b'))).toEqual({ engine: 'e', text: 'b', raw: 'b', partial: true });
  });

  it('checks required parameters', () => {
    const x = new SearchTermExtractor([{ name: 'e', hosts: ['example.org'], rules: [{ ...rule('/api'), require: { action: 'find', format: 'json' } }] }]);
    const rows: [string, boolean][] = [
      ['https://example.org/api?action=find&format=json&q=x', true],
      ['https://example.org/api?q=x&format=json&action=find', true],
      ['https://example.org/api?action=find&q=x', false],
      ['https://example.org/api?action=findx&format=json&q=x', false],
      ['https://example.org/api?action&format=json&q=x', false],
    ];
    for (const [url, found] of rows) expect(x.extract(normaliseUrl(url)) !== null, url).toBe(found);
  });

  it('works with no engines', () => {
    expect(new SearchTermExtractor([]).extract(normaliseUrl('https://www.google.com/search?q=x'))).toBeNull();
  });

  it.each(['*.com', '*.co.uk', 'goo*gle.com', 'www.bing.com/', 'localhost', '*.*'])('refuses host pattern %s', (host) => {
    expect(() => new SearchTermExtractor([{ name: 'e', hosts: [host], rules: [rule('/s')] }])).toThrow(RangeError);
  });
});

describe('loadSearchEngines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schoolgate-engines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string): string => {
    const file = join(dir, `engines-${++n}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  const problemsOf = (file: string) => problemsFrom(() => loadSearchEngines(file));
  const engine = (lines: string): string => `engines:\n  - name: e\n${lines}`;

  it('reads engines, with defaults filled in and hosts in lower case', () => {
    const file = write(engine('    hosts: [Example.ORG, "*.example.net", "example.*"]\n    rules:\n      - { path: /s, param: q }\n      - { path: "/api/*", param: search, partial: true, require: { action: find } }\n'));
    expect(loadSearchEngines(file)).toEqual<SearchEngineConfig[]>([{
      name: 'e',
      hosts: ['example.org', '*.example.net', 'example.*'],
      rules: [
        { path: '/s', param: 'q', partial: false },
        { path: '/api/*', param: 'search', partial: true, require: { action: 'find' } },
      ],
    }]);
  });

  const ok = '    hosts: [example.org]\n    rules:\n      - { path: /s, param: q }\n';
  const cases: [string, string, { line: number; key: string; message: string | RegExp }[]][] = [
    ['a missing engines list', 'engine: []\n',
      [{ line: 1, key: 'engine', message: 'unknown key "engine"' }, { line: 1, key: 'engines', message: 'must be a list ("- item" lines), found nothing' }]],
    ['engines as a mapping', 'engines:\n  google: {}\n',
      [{ line: 1, key: 'engines', message: 'must be a list ("- item" lines), found a mapping' }]],
    ['an engine that is not a mapping', 'engines:\n  - google\n',
      [{ line: 2, key: 'engines[0]', message: 'must be a mapping (key: value lines), found text "google"' }]],
    ['an unknown engine key', engine(`${ok}    host: example.org\n`),
      [{ line: 6, key: 'engines[0].host', message: 'unknown key "host"' }]],
    ['a missing name', 'engines:\n  - hosts: [example.org]\n    rules:\n      - { path: /s, param: q }\n',
      [{ line: 2, key: 'engines[0].name', message: 'must be a non-empty text value, found nothing' }]],
    ['a bad name', 'engines:\n  - name: Google Search\n    hosts: [example.org]\n    rules:\n      - { path: /s, param: q }\n',
      [{ line: 2, key: 'engines[0].name', message: '"Google Search" is not valid' }]],
    ['no hosts', engine('    hosts: []\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts', message: 'must list at least one host' }]],
    ['hosts as text', engine('    hosts: example.org\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts', message: 'must be a list ("- item" lines), found text "example.org"' }]],
    ['a wildcard over a whole suffix', engine('    hosts: ["*.com"]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "*.com" covers a whole public suffix' }]],
    ['a wildcard over a country suffix', engine('    hosts: ["*.co.uk"]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "*.co.uk" covers a whole public suffix' }]],
    ['a star in the middle of a host', engine('    hosts: ["goo*gle.com"]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: `host "goo*gle.com" has a '*' that is neither a leading "*." nor a trailing ".*"` }]],
    ['a host with a path', engine('    hosts: [example.org/search]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "example.org/search" is not a host name' }]],
    ['a single-label host', engine('    hosts: [localhost]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "localhost" is not a host name' }]],
    ['a bad suffix wildcard', engine('    hosts: ["*.exa mple.org"]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "*.exa mple.org" is not "*." followed by a host name' }]],
    ['a bad name wildcard', engine('    hosts: ["-google.*"]\n    rules:\n      - { path: /s, param: q }\n'),
      [{ line: 3, key: 'engines[0].hosts[0]', message: 'host "-google.*" is not a host name followed by ".*"' }]],
    ['a host listed twice', `engines:\n  - name: a\n${ok}  - name: b\n    hosts: [other.org, EXAMPLE.org]\n    rules:\n      - { path: /s, param: q }\n`,
      [{ line: 7, key: 'engines[1].hosts[1]', message: 'host "EXAMPLE.org" is already listed for a on line 3' }]],
    ['no rules', engine('    hosts: [example.org]\n    rules: []\n'),
      [{ line: 4, key: 'engines[0].rules', message: 'must list at least one rule' }]],
    ['a path without a leading slash', engine('    hosts: [example.org]\n    rules:\n      - { path: search, param: q }\n'),
      [{ line: 5, key: 'engines[0].rules[0].path', message: '"search" is not valid' }]],
    ['a path with a query', engine('    hosts: [example.org]\n    rules:\n      - { path: "/search?q", param: q }\n'),
      [{ line: 5, key: 'engines[0].rules[0].path', message: '"/search?q" is not valid' }]],
    ['a star inside a path', engine('    hosts: [example.org]\n    rules:\n      - { path: "/a*/b", param: q }\n'),
      [{ line: 5, key: 'engines[0].rules[0].path', message: '"/a*/b" is not valid' }]],
    ['a missing param', engine('    hosts: [example.org]\n    rules:\n      - { path: /s }\n'),
      [{ line: 5, key: 'engines[0].rules[0].param', message: 'must be a non-empty text value, found nothing' }]],
    ['a param with =', engine('    hosts: [example.org]\n    rules:\n      - { path: /s, param: "q=1" }\n'),
      [{ line: 5, key: 'engines[0].rules[0].param', message: '"q=1" is not valid' }]],
    ['partial that is not true or false', engine('    hosts: [example.org]\n    rules:\n      - { path: /s, param: q, partial: sometimes }\n'),
      [{ line: 5, key: 'engines[0].rules[0].partial', message: 'must be true or false, found text "sometimes"' }]],
    ['require as a list', engine('    hosts: [example.org]\n    rules:\n      - { path: /s, param: q, require: [action] }\n'),
      [{ line: 5, key: 'engines[0].rules[0].require', message: 'must be a mapping (key: value lines), found a list' }]],
    ['a required value that is a number', engine('    hosts: [example.org]\n    rules:\n      - { path: /s, param: q, require: { v: 1 } }\n'),
      [{ line: 5, key: 'engines[0].rules[0].require.v', message: 'must be a non-empty text value, found number 1' }]],
    ['an unknown rule key', engine('    hosts: [example.org]\n    rules:\n      - { path: /s, parameter: q }\n'),
      [{ line: 5, key: 'engines[0].rules[0].parameter', message: 'unknown key "parameter"' }, { line: 5, key: 'engines[0].rules[0].param', message: 'must be a non-empty text value, found nothing' }]],
    ['a rule that is not a mapping', engine('    hosts: [example.org]\n    rules:\n      - /search\n'),
      [{ line: 5, key: 'engines[0].rules[0]', message: 'must be a mapping (key: value lines), found text "/search"' }]],
    ['an empty file', '',
      [{ line: 0, key: '', message: 'must be a mapping (key: value lines), found nothing' }]],
    ['a YAML syntax error', 'engines:\n  - name: "e\n',
      [{ line: 3, key: '', message: /^YAML syntax: / }]],
    ['every problem at once', 'engines:\n  - name: e\n    hosts: ["*.com", ok.org]\n    rules:\n      - { path: s, param: q }\n      - { path: /t, partial: 1 }\n',
      [
        { line: 3, key: 'engines[0].hosts[0]', message: 'host "*.com" covers a whole public suffix' },
        { line: 5, key: 'engines[0].rules[0].path', message: '"s" is not valid' },
        { line: 6, key: 'engines[0].rules[1].param', message: 'must be a non-empty text value, found nothing' },
        { line: 6, key: 'engines[0].rules[1].partial', message: 'must be true or false, found number 1' },
      ]],
  ];

  it.each(cases)('reports %s with file and line', (_why, text, want) => {
    const file = write(text);
    expectProblems(problemsOf(file), file, want);
  });

  it('tells the technician how to write a host', () => {
    const [p] = problemsOf(write(engine('    hosts: ["*.com"]\n    rules:\n      - { path: /s, param: q }\n')));
    expect(p?.fix).toBe('write an exact host (www.bing.com), "*.example.org" for any subdomain, or "google.*" for any public suffix');
  });

  it('reports a missing file', () => {
    const file = join(dir, 'missing.yaml');
    expect(problemsOf(file)).toEqual([{ file, line: 0, key: '', message: 'file not found', fix: 'check the path' }]);
  });
});
