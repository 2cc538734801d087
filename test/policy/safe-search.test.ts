// Safe search must be on for every way a pupil reaches a search engine (every country domain,
// CONNECT and plain HTTP), must not touch look-alike sites or the engines' other services,
// and must never produce an action for a request that is already safe, so nothing loops.
import { describe, expect, it } from 'vitest';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import {
  parseSafeSearch,
  SAFE_SEARCH_ENGINES,
  safeSearchFor,
  type SafeSearchAction,
  type SafeSearchEngine,
  type SafeSearchSetting,
} from '../../src/policy/safe-search.js';

function setting(engines: readonly SafeSearchEngine[], youtube: 'strict' | 'moderate' = 'strict'): SafeSearchSetting {
  return { engines: new Set(engines), youtube };
}

const ALL = setting(SAFE_SEARCH_ENGINES);
const NONE = setting([]);

/** CONNECT host:port → the host the tunnel is dialled to, or null. */
function tunnel(target: string, s: SafeSearchSetting = ALL): SafeSearchAction | null {
  return safeSearchFor(normaliseUrl(target), true, s);
}

/** A plain HTTP (or intercepted HTTPS) request → the action, or null. */
function request(url: string, s: SafeSearchSetting = ALL): SafeSearchAction | null {
  return safeSearchFor(normaliseUrl(url), false, s);
}

const GOOGLE = 'forcesafesearch.google.com';

describe('CONNECT tunnels to an engine are sent to its safe host', () => {
  it.each<[string, SafeSearchEngine, string]>([
    ['www.google.com:443', 'google', GOOGLE],
    ['google.com:443', 'google', GOOGLE],
    ['www.google.co.uk:443', 'google', GOOGLE],
    ['google.co.uk:443', 'google', GOOGLE],
    ['www.google.com.au:443', 'google', GOOGLE],
    ['www.google.pl:443', 'google', GOOGLE],
    ['www.google.de:443', 'google', GOOGLE],
    ['www.google.fr:443', 'google', GOOGLE],
    ['www.google.ie:443', 'google', GOOGLE],
    ['www.google.co.in:443', 'google', GOOGLE],
    ['www.google.co.jp:443', 'google', GOOGLE],
    ['www.google.com.br:443', 'google', GOOGLE],
    ['www.google.com.pk:443', 'google', GOOGLE],
    ['www.google.co.za:443', 'google', GOOGLE],
    ['www.google.cat:443', 'google', GOOGLE],
    ['www.google.co:443', 'google', GOOGLE],
    ['WWW.GOOGLE.CO.UK.:443', 'google', GOOGLE],
    ['www.google.co.uk:8443', 'google', GOOGLE],
    ['www.bing.com:443', 'bing', 'strict.bing.com'],
    ['bing.com:443', 'bing', 'strict.bing.com'],
    ['duckduckgo.com:443', 'duckduckgo', 'safe.duckduckgo.com'],
    ['www.duckduckgo.com:443', 'duckduckgo', 'safe.duckduckgo.com'],
    ['www.youtube.com:443', 'youtube', 'restrict.youtube.com'],
    ['m.youtube.com:443', 'youtube', 'restrict.youtube.com'],
    ['youtube.com:443', 'youtube', 'restrict.youtube.com'],
    ['youtubei.googleapis.com:443', 'youtube', 'restrict.youtube.com'],
    ['youtube.googleapis.com:443', 'youtube', 'restrict.youtube.com'],
    ['www.youtube-nocookie.com:443', 'youtube', 'restrict.youtube.com'],
    // a strict group is owed more than the moderate host gives
    ['restrictmoderate.youtube.com:443', 'youtube', 'restrict.youtube.com'],
  ])('%s → %s %s', (target, engine, host) => {
    expect(tunnel(target)).toEqual({ engine, kind: 'connect-host', host });
  });
});

describe('CONNECT tunnels that are not an engine, or already safe, are left alone', () => {
  it.each([
    // look-alikes: exact hosts only, no substrings
    'google.com.evil.test:443',
    'www.google.com.evil.test:443',
    'notgoogle.com:443',
    'www.notgoogle.co.uk:443',
    'google.evil.test:443',
    'googlecom:443',
    'www.google.co.evil:443',
    'notbing.com:443',
    'bing.com.evil.test:443',
    'www.bing.co.uk:443',
    'notduckduckgo.com:443',
    'duckduckgo.com.evil.test:443',
    'youtube.com.evil.test:443',
    'myyoutube.com:443',
    'youtube-nocookie.com.evil.test:443',
    // the engines' other services are not search
    'mail.google.com:443',
    'maps.google.com:443',
    'docs.google.com:443',
    'images.google.com.evil.test:443',
    'google.org:443',
    'www.google.org:443',
    'google.dev:443',
    'googleapis.com:443',
    'www.googleapis.com:443',
    'accounts.google.com:443',
    'i.ytimg.com:443',
    'login.microsoftonline.com:443',
    'html.duckduckgo.com:443',
    // already safe: nothing loops
    'forcesafesearch.google.com:443',
    'strict.bing.com:443',
    'safe.duckduckgo.com:443',
    'restrict.youtube.com:443',
    // addresses are never engines
    '142.250.180.4:443',
    '[2a00:1450:4009:81f::2004]:443',
  ])('%s', (target) => {
    expect(tunnel(target)).toBeNull();
  });
});

describe('plain HTTP and intercepted requests', () => {
  it.each<[string, SafeSearchEngine, string, string]>([
    // [url, engine, param=value, rewritten path?query]
    ['http://www.google.com/search?q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['https://www.google.com/search?q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://google.com/search?q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.co.uk/search?q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com.au/search?q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.pl/search?q=kot', 'google', 'safe=active', '/search?q=kot&safe=active'],
    ['http://www.google.de/search?q=katze', 'google', 'safe=active', '/search?q=katze&safe=active'],
    ['http://www.google.com/search', 'google', 'safe=active', '/search?safe=active'],
    ['http://www.google.com/', 'google', 'safe=active', '/?safe=active'],
    ['http://www.google.com', 'google', 'safe=active', '/?safe=active'],
    ['http://www.google.com/?q=cats', 'google', 'safe=active', '/?q=cats&safe=active'],
    ['http://www.google.com/webhp?q=cats', 'google', 'safe=active', '/webhp?q=cats&safe=active'],
    ['http://www.google.com/imghp?hl=en', 'google', 'safe=active', '/imghp?hl=en&safe=active'],
    ['http://www.google.com/images?q=cats', 'google', 'safe=active', '/images?q=cats&safe=active'],
    ['http://www.google.com/complete/search?q=ca&client=gws', 'google', 'safe=active', '/complete/search?q=ca&client=gws&safe=active'],
    ['http://www.google.com/Search?q=cats', 'google', 'safe=active', '/Search?q=cats&safe=active'],
    // an existing safe= of any value or spelling is replaced, never duplicated
    ['http://www.google.com/search?q=cats&safe=off', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?safe=off&q=cats', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?safe=images&q=cats&safe=off', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&safe=', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&safe', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&SAFE=off', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&saf%65=off', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&safe=active&safe=off', 'google', 'safe=active', '/search?q=cats&safe=active'],
    ['http://www.google.com/search?q=cats&safe=Active', 'google', 'safe=active', '/search?q=cats&safe=active'],
    // other parameters kept exactly: order, '+', escapes, repeated names, stray '&' dropped
    ['http://www.google.com/search?q=big+cats&hl=en-GB&tbm=isch', 'google', 'safe=active', '/search?q=big+cats&hl=en-GB&tbm=isch&safe=active'],
    ['http://www.google.com/search?q=caf%C3%A9+%26+cake&oq=a%2Bb', 'google', 'safe=active', '/search?q=caf%C3%A9+%26+cake&oq=a%2Bb&safe=active'],
    ['http://www.google.com/search?q=safe%3Doff', 'google', 'safe=active', '/search?q=safe%3Doff&safe=active'],
    ['http://www.google.com/search?q=x&q=y&unsafe=1&safesearch=off', 'google', 'safe=active', '/search?q=x&q=y&unsafe=1&safesearch=off&safe=active'],
    ['http://www.google.com/search?q=a=b', 'google', 'safe=active', '/search?q=a=b&safe=active'],
    ['http://www.google.com/search?&q=cats&&', 'google', 'safe=active', '/search?q=cats&safe=active'],
    // Bing
    ['http://www.bing.com/search?q=cats', 'bing', 'adlt=strict', '/search?q=cats&adlt=strict'],
    ['http://bing.com/search?q=cats', 'bing', 'adlt=strict', '/search?q=cats&adlt=strict'],
    ['https://www.bing.com/images/search?q=cats&form=HDRSC2', 'bing', 'adlt=strict', '/images/search?q=cats&form=HDRSC2&adlt=strict'],
    ['https://www.bing.com/images/async?q=cats&first=36', 'bing', 'adlt=strict', '/images/async?q=cats&first=36&adlt=strict'],
    ['https://www.bing.com/videos/search?q=cats', 'bing', 'adlt=strict', '/videos/search?q=cats&adlt=strict'],
    ['https://www.bing.com/news/search?q=cats', 'bing', 'adlt=strict', '/news/search?q=cats&adlt=strict'],
    ['https://www.bing.com/AS/Suggestions?qry=ca', 'bing', 'adlt=strict', '/AS/Suggestions?qry=ca&adlt=strict'],
    ['http://www.bing.com/search?q=cats&adlt=off', 'bing', 'adlt=strict', '/search?q=cats&adlt=strict'],
    ['http://www.bing.com/search?ADLT=off&q=big+cats', 'bing', 'adlt=strict', '/search?q=big+cats&adlt=strict'],
    ['http://www.bing.com/search?q=cats&adlt=moderate', 'bing', 'adlt=strict', '/search?q=cats&adlt=strict'],
    // DuckDuckGo
    ['http://duckduckgo.com/?q=cats', 'duckduckgo', 'kp=1', '/?q=cats&kp=1'],
    ['https://duckduckgo.com/?q=cats&ia=web', 'duckduckgo', 'kp=1', '/?q=cats&ia=web&kp=1'],
    ['https://www.duckduckgo.com/?q=cats', 'duckduckgo', 'kp=1', '/?q=cats&kp=1'],
    ['https://duckduckgo.com/?q=cats&kp=-2', 'duckduckgo', 'kp=1', '/?q=cats&kp=1'],
    ['https://duckduckgo.com/?kp=-1&q=cats', 'duckduckgo', 'kp=1', '/?q=cats&kp=1'],
    ['https://html.duckduckgo.com/html/?q=cats', 'duckduckgo', 'kp=1', '/html/?q=cats&kp=1'],
    ['https://lite.duckduckgo.com/lite/?q=cats', 'duckduckgo', 'kp=1', '/lite/?q=cats&kp=1'],
    ['https://links.duckduckgo.com/d.js?q=cats&l=uk-en', 'duckduckgo', 'kp=1', '/d.js?q=cats&l=uk-en&kp=1'],
    ['https://duckduckgo.com/i.js?q=cats&o=json', 'duckduckgo', 'kp=1', '/i.js?q=cats&o=json&kp=1'],
    ['https://duckduckgo.com/ac/?q=ca', 'duckduckgo', 'kp=1', '/ac/?q=ca&kp=1'],
  ])('%s', (url, engine, pair, rewritten) => {
    const [param, value] = pair.split('=') as [string, string];
    expect(request(url)).toEqual({ engine, kind: 'rewrite-query', param, value, url: rewritten });
  });

  it.each([
    'http://www.youtube.com/watch?v=dQw4w9WgXcQ',
    'https://www.youtube.com/',
    'https://www.youtube.com/results?search_query=cats',
    'https://m.youtube.com/watch?v=x',
    'https://youtube.com/shorts/abc',
    'https://youtubei.googleapis.com/youtubei/v1/search?key=k',
    'https://youtube.googleapis.com/youtube/v3/videos',
    'https://www.youtube-nocookie.com/embed/abc',
    'https://restrictmoderate.youtube.com/watch?v=x',
  ])('YouTube always gets the header, on any path: %s', (url) => {
    expect(request(url)).toEqual({ engine: 'youtube', kind: 'add-header', name: 'YouTube-Restrict', value: 'Strict' });
  });

  it.each([
    // already safe: nothing loops
    'http://www.google.com/search?q=cats&safe=active',
    'http://www.google.com/search?safe=active&q=big+cats',
    'http://www.google.com/?safe=active',
    'http://www.google.com/search?safe=active&safe=active&q=x',
    'https://forcesafesearch.google.com/search?q=cats',
    'http://www.bing.com/search?q=cats&adlt=strict',
    'https://strict.bing.com/search?q=cats',
    'https://duckduckgo.com/?q=cats&kp=1',
    'https://safe.duckduckgo.com/?q=cats',
    'https://restrict.youtube.com/watch?v=x',
    // not search paths
    'http://www.google.com/maps?q=london',
    'http://www.google.com/maps/place/London',
    'http://www.google.co.uk/maps',
    'http://www.google.com/searchx?q=cats',
    'http://www.google.com/intl/en/policies/',
    'http://www.google.com/url?q=https://example.com/',
    'http://www.google.com/favicon.ico',
    'http://www.google.com/xjs/_/js/k=xjs.s.en_GB.abc.O/am=AAAA',
    'http://www.bing.com/',
    'http://www.bing.com/?q=cats',
    'http://www.bing.com/maps?q=london',
    'http://www.bing.com/translator',
    'http://www.bing.com/searchy?q=cats',
    'https://duckduckgo.com/about',
    'https://duckduckgo.com/settings',
    'https://duckduckgo.com/assets/logo.svg',
    'https://duckduckgo.com/acx',
    // not engines
    'http://google.com.evil.test/search?q=cats',
    'http://www.google.com.evil.test/search?q=cats',
    'http://notbing.com/search?q=cats',
    'http://bing.com.evil.test/search?q=cats',
    'http://notduckduckgo.com/?q=cats',
    'http://news.google.com/search?q=cats',
    'http://scholar.google.com/scholar?q=cats',
    'http://www.google.org/search?q=cats',
    'http://youtube.com.evil.test/watch?v=x',
    'http://notyoutube.com/watch?v=x',
    'http://i.ytimg.com/vi/abc/hqdefault.jpg',
    'http://142.250.180.4/search?q=cats',
    'http://example.com/search?q=cats&safe=off',
  ])('left alone: %s', (url) => {
    expect(request(url)).toBeNull();
  });
});

describe('the setting', () => {
  it('does nothing when safe search is off', () => {
    for (const target of ['www.google.co.uk:443', 'www.bing.com:443', 'duckduckgo.com:443', 'www.youtube.com:443']) {
      expect(tunnel(target, NONE), target).toBeNull();
    }
    for (const url of ['http://www.google.com/search?q=x', 'http://www.bing.com/search?q=x', 'http://duckduckgo.com/?q=x', 'http://www.youtube.com/']) {
      expect(request(url, NONE), url).toBeNull();
    }
  });

  // Each engine alone: on for that engine, off for the other three.
  const PROBES: Record<SafeSearchEngine, readonly [string, string]> = {
    google: ['www.google.co.uk:443', 'http://www.google.co.uk/search?q=x'],
    bing: ['www.bing.com:443', 'http://www.bing.com/search?q=x'],
    duckduckgo: ['duckduckgo.com:443', 'http://duckduckgo.com/?q=x'],
    youtube: ['www.youtube.com:443', 'http://www.youtube.com/watch?v=x'],
  };
  const rows = SAFE_SEARCH_ENGINES.flatMap((on) => SAFE_SEARCH_ENGINES.map((probe) => [on, probe] as const));
  it.each(rows)('only %s on, probing %s', (on, probe) => {
    const s = setting([on]);
    const [target, url] = PROBES[probe];
    const t = tunnel(target, s);
    const r = request(url, s);
    if (on === probe) {
      expect(t?.engine).toBe(probe);
      expect(t?.kind).toBe('connect-host');
      expect(r?.engine).toBe(probe);
      expect(r?.kind).toBe(probe === 'youtube' ? 'add-header' : 'rewrite-query');
    } else {
      expect(t).toBeNull();
      expect(r).toBeNull();
    }
  });

  it('applies a partial list', () => {
    const s = setting(['google', 'youtube']);
    expect(tunnel('www.google.com:443', s)).toMatchObject({ host: GOOGLE });
    expect(tunnel('www.youtube.com:443', s)).toMatchObject({ host: 'restrict.youtube.com' });
    expect(tunnel('www.bing.com:443', s)).toBeNull();
    expect(tunnel('duckduckgo.com:443', s)).toBeNull();
  });

  it.each<[string, boolean, SafeSearchAction | null]>([
    ['www.youtube.com:443', true, { engine: 'youtube', kind: 'connect-host', host: 'restrictmoderate.youtube.com' }],
    ['m.youtube.com:443', true, { engine: 'youtube', kind: 'connect-host', host: 'restrictmoderate.youtube.com' }],
    ['youtubei.googleapis.com:443', true, { engine: 'youtube', kind: 'connect-host', host: 'restrictmoderate.youtube.com' }],
    ['restrictmoderate.youtube.com:443', true, null],
    ['restrict.youtube.com:443', true, null],
    ['https://www.youtube.com/watch?v=x', false, { engine: 'youtube', kind: 'add-header', name: 'YouTube-Restrict', value: 'Moderate' }],
    ['https://www.youtube-nocookie.com/embed/x', false, { engine: 'youtube', kind: 'add-header', name: 'YouTube-Restrict', value: 'Moderate' }],
    ['https://restrictmoderate.youtube.com/watch?v=x', false, null],
    ['https://restrict.youtube.com/watch?v=x', false, null],
    // the level is YouTube's alone: the others stay strict
    ['www.google.com:443', true, { engine: 'google', kind: 'connect-host', host: GOOGLE }],
    ['http://www.bing.com/search?q=x', false, { engine: 'bing', kind: 'rewrite-query', param: 'adlt', value: 'strict', url: '/search?q=x&adlt=strict' }],
  ])('YouTube moderate: %s (connect %s)', (target, connect, expected) => {
    expect(safeSearchFor(normaliseUrl(target), connect, setting(SAFE_SEARCH_ENGINES, 'moderate'))).toEqual(expected);
  });

  it('applying an action never leads to another one', () => {
    for (const target of ['www.google.co.uk:443', 'www.bing.com:443', 'duckduckgo.com:443', 'www.youtube.com:443', 'restrictmoderate.youtube.com:443']) {
      const a = tunnel(target);
      expect(a?.kind).toBe('connect-host');
      if (a?.kind === 'connect-host') expect(tunnel(`${a.host}:443`), a.host).toBeNull();
    }
    for (const url of ['http://www.google.co.uk/search?q=a+b&safe=off', 'http://www.bing.com/images/search?q=x&adlt=off', 'http://duckduckgo.com/?q=x&kp=-2']) {
      const u = normaliseUrl(url);
      const a = request(url);
      expect(a?.kind).toBe('rewrite-query');
      if (a?.kind === 'rewrite-query') expect(request(`${u.scheme}://${u.host}${a.url}`), a.url).toBeNull();
    }
  });

  it('returns frozen actions for tunnels and headers', () => {
    expect(Object.isFrozen(tunnel('www.google.com:443'))).toBe(true);
    expect(Object.isFrozen(request('http://www.youtube.com/'))).toBe(true);
  });
});

describe('parseSafeSearch', () => {
  function engines(r: ReturnType<typeof parseSafeSearch>): string[] | { error: string; fix: string } {
    return 'error' in r ? r : [...r.engines].sort();
  }

  it.each<[string, unknown, string[], 'strict' | 'moderate']>([
    ['true', true, ['bing', 'duckduckgo', 'google', 'youtube'], 'strict'],
    ['false', false, [], 'strict'],
    ['absent', undefined, [], 'strict'],
    ['null (an empty key)', null, [], 'strict'],
    ['an empty list', [], [], 'strict'],
    ['one engine', ['google'], ['google'], 'strict'],
    ['two engines', ['bing', 'google'], ['bing', 'google'], 'strict'],
    ['every engine', ['google', 'bing', 'duckduckgo', 'youtube'], ['bing', 'duckduckgo', 'google', 'youtube'], 'strict'],
    ['youtube by name', ['youtube'], ['youtube'], 'strict'],
    ['youtube: moderate', ['google', { youtube: 'moderate' }], ['google', 'youtube'], 'moderate'],
    ['youtube: strict', [{ youtube: 'strict' }, 'bing'], ['bing', 'youtube'], 'strict'],
    ['names with stray spaces', [' google ', 'bing'], ['bing', 'google'], 'strict'],
  ])('%s', (_, value, expected, youtube) => {
    const r = parseSafeSearch(value);
    expect(engines(r)).toEqual(expected);
    if (!('error' in r)) expect(r.youtube).toBe(youtube);
  });

  it.each<[string, unknown, RegExp, RegExp]>([
    ['a string', 'yes', /not "yes"/, /true.*false.*list/],
    ['the string "true"', 'true', /not "true"/, /true \(every engine/],
    ['a number', 1, /not 1/, /true.*false.*list/],
    ['a mapping', { google: true }, /not a mapping/, /youtube: moderate/],
    ['an unknown engine', ['google', 'yahoo'], /item 2: unknown search engine "yahoo"/, /google, bing, duckduckgo, youtube/],
    ['a capitalised engine', ['Google'], /item 1: unknown search engine "Google"/, /lower case: "google"/],
    ['a duplicate', ['google', 'google'], /item 2: "google" is listed more than once/, /once/],
    ['youtube twice', ['youtube', { youtube: 'moderate' }], /item 2: "youtube" is listed more than once/, /youtube: moderate/],
    ['a bad YouTube level', [{ youtube: 'relaxed' }], /item 1: YouTube level must be strict or moderate, not "relaxed"/, /youtube: strict or youtube: moderate/],
    ['a YouTube level of true', [{ youtube: true }], /not true/, /youtube: moderate/],
    ['a level on another engine', [{ google: 'moderate' }], /only YouTube takes a level, not "google"/, /plain names/],
    ['two keys in one item', [{ youtube: 'moderate', bing: 'strict' }], /only YouTube takes a level/, /plain names/],
    ['an empty mapping', [{}], /not an empty mapping/, /plain names/],
    ['a quoted level', ['youtube: moderate'], /is text, not a YouTube level/, /without quotes/],
    ['a number in the list', ['google', 3], /item 2: expected an engine name, not 3/, /one of google/],
    ['a nested list', [['google']], /item 1: expected an engine name, not a list/, /one of google/],
    ['null in the list', [null], /item 1: expected an engine name, not null/, /one of google/],
  ])('rejects %s', (_, value, error, fix) => {
    const r = parseSafeSearch(value);
    expect('error' in r).toBe(true);
    if ('error' in r) {
      expect(r.error).toMatch(error);
      expect(r.fix).toMatch(fix);
    }
  });

  it('gives settings that safeSearchFor uses as written', () => {
    const s = parseSafeSearch(['bing', { youtube: 'moderate' }]);
    if ('error' in s) throw new Error(s.error);
    expect(safeSearchFor(normaliseUrl('www.bing.com:443'), true, s)).toMatchObject({ host: 'strict.bing.com' });
    expect(safeSearchFor(normaliseUrl('www.youtube.com:443'), true, s)).toMatchObject({ host: 'restrictmoderate.youtube.com' });
    expect(safeSearchFor(normaliseUrl('www.google.com:443'), true, s)).toBeNull();
  });
});
