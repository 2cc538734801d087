// Safe search: how a group that has it on gets it enforced, engine by engine, using the
// mechanism each engine documents for networks (schools, businesses) rather than anything a
// pupil can switch off in the browser's settings.
//
//   engine      CONNECT tunnel (only the host is known)          HTTP / intercepted HTTPS request
//   google      www.google.<suffix>, google.<suffix>             search paths: safe=active
//                 → forcesafesearch.google.com
//   bing        www.bing.com, bing.com → strict.bing.com         search paths: adlt=strict
//   duckduckgo  duckduckgo.com, www.duckduckgo.com               search paths: kp=1
//                 → safe.duckduckgo.com
//   youtube     www/m.youtube.com, youtube.com, youtubei and     every path: header
//               youtube.googleapis.com, www.youtube-nocookie.com   YouTube-Restrict: Strict|Moderate
//                 → restrict.youtube.com (restrictmoderate.youtube.com when moderate)
//
// A redirected tunnel keeps the client's SNI: the engines serve their usual certificate from
// the safe address (that is how the documented DNS method works), so the browser sees nothing
// unusual. Requests that are already safe (the safe hosts themselves, a query that already
// carries the safe value) get null, so applying an action never leads to another one.
//
// Pure: no I/O, no clock, no mutable module state. Host tables are built once, below.
import type { NormalisedUrl } from '../classify/normalise-url.js';

export const SAFE_SEARCH_ENGINES = ['google', 'bing', 'duckduckgo', 'youtube'] as const;
export type SafeSearchEngine = (typeof SAFE_SEARCH_ENGINES)[number];

export interface SafeSearchSetting {
  readonly engines: ReadonlySet<SafeSearchEngine>;
  readonly youtube: 'strict' | 'moderate';
}

export type SafeSearchAction =
  /** Dial this host (on the port the client asked for) instead; SNI stays as the client sent it. */
  | { readonly engine: SafeSearchEngine; readonly kind: 'connect-host'; readonly host: string }
  /** Send `url` (the rewritten path?query) instead: every `param` the client sent is replaced by param=value. */
  | { readonly engine: SafeSearchEngine; readonly kind: 'rewrite-query'; readonly param: string; readonly value: string; readonly url: string }
  /** Set this request header, replacing any the client sent. */
  | { readonly engine: SafeSearchEngine; readonly kind: 'add-header'; readonly name: string; readonly value: string };

type YouTubeLevel = SafeSearchSetting['youtube'];
type QueryEngine = Exclude<SafeSearchEngine, 'youtube'>;

// ---------------------------------------------------------------------------------------------
// Hosts

/**
 * Google's search front page on any of its country domains: google.<cc>, google.com,
 * google.cat, and google.<co|com|org|net|gov|ac|edu>.<cc>, bare or with www. A rule rather
 * than a list, so a country domain Google adds is not a way round safe search; a look-alike it
 * wrongly catches (a registrable "google.com.xx") only has its tunnel sent to Google, which
 * fails closed. google.org, google.dev and other Google properties are not search.
 */
const GOOGLE_SEARCH_HOST = /^(?:www\.)?google\.(?:[a-z]{2}|com|cat|(?:co|com|org|net|gov|ac|edu)\.[a-z]{2})$/;

function isGoogleSearchHost(host: string): boolean {
  return (host.startsWith('google.') || host.startsWith('www.google.')) && GOOGLE_SEARCH_HOST.test(host);
}

const YOUTUBE_HOSTS = [
  'www.youtube.com',
  'm.youtube.com',
  'youtube.com',
  'youtubei.googleapis.com',
  'youtube.googleapis.com',
  'www.youtube-nocookie.com',
] as const;

const YOUTUBE_STRICT_HOST = 'restrict.youtube.com';
const YOUTUBE_MODERATE_HOST = 'restrictmoderate.youtube.com';

/** Hosts (other than Google's, matched by rule) whose CONNECT tunnels are redirected. */
const CONNECT_ENGINES: ReadonlyMap<string, Exclude<SafeSearchEngine, 'google'>> = new Map<string, Exclude<SafeSearchEngine, 'google'>>([
  ['www.bing.com', 'bing'],
  ['bing.com', 'bing'],
  ['duckduckgo.com', 'duckduckgo'],
  ['www.duckduckgo.com', 'duckduckgo'],
  ...YOUTUBE_HOSTS.map((h) => [h, 'youtube'] as const),
  // Moderate is less than a strict group is owed: send it on to restrict.youtube.com.
  [YOUTUBE_MODERATE_HOST, 'youtube'],
]);

/** Hosts (other than Google's) whose plain or intercepted requests are rewritten. */
const REQUEST_ENGINES: ReadonlyMap<string, Exclude<SafeSearchEngine, 'google'>> = new Map<string, Exclude<SafeSearchEngine, 'google'>>([
  ['www.bing.com', 'bing'],
  ['bing.com', 'bing'],
  ['duckduckgo.com', 'duckduckgo'],
  ['www.duckduckgo.com', 'duckduckgo'],
  ['html.duckduckgo.com', 'duckduckgo'],
  ['lite.duckduckgo.com', 'duckduckgo'],
  ['links.duckduckgo.com', 'duckduckgo'],
  ...YOUTUBE_HOSTS.map((h) => [h, 'youtube'] as const),
  [YOUTUBE_MODERATE_HOST, 'youtube'],
]);

// ---------------------------------------------------------------------------------------------
// Query rules

interface QueryRule {
  readonly param: string;
  readonly value: string;
  /** Lower-case paths that serve results or suggestions; each also covers everything below it. */
  readonly paths: readonly string[];
  /** Whether '/' itself is a search page (it is where a search lands on Google and DuckDuckGo). */
  readonly root: boolean;
}

const QUERY_RULES: Readonly<Record<QueryEngine, QueryRule>> = Object.freeze({
  google: Object.freeze({
    param: 'safe',
    value: 'active',
    paths: Object.freeze(['/search', '/webhp', '/imghp', '/images', '/videohp', '/complete/search']),
    root: true,
  }),
  bing: Object.freeze({
    param: 'adlt',
    value: 'strict',
    paths: Object.freeze(['/search', '/images', '/videos', '/news', '/shop', '/as/suggestions']),
    root: false,
  }),
  duckduckgo: Object.freeze({
    param: 'kp',
    value: '1',
    paths: Object.freeze(['/html', '/lite', '/d.js', '/i.js', '/v.js', '/news.js', '/ac']),
    root: true,
  }),
});

function isSearchPath(path: string, rule: QueryRule): boolean {
  if (path === '/') return rule.root;
  const p = path.toLowerCase();
  for (const prefix of rule.paths) {
    if (p.startsWith(prefix) && (p.length === prefix.length || p.charCodeAt(prefix.length) === 47 /* / */)) return true;
  }
  return false;
}

/**
 * The query with every `param` (any case) removed and param=value appended; the other
 * parameters are kept exactly as written ('+', percent-escapes and order included), empty
 * pieces from stray '&' dropped. Null when the query already carries exactly param=value and
 * no other spelling of the parameter.
 */
function withParam(query: string, param: string, value: string): string | null {
  const wanted = `${param}=${value}`;
  const kept: string[] = [];
  let found = false;
  let exact = true;
  for (const piece of query === '' ? [] : query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = eq < 0 ? piece : piece.slice(0, eq);
    if (name.length === param.length && name.toLowerCase() === param) {
      found = true;
      if (piece !== wanted) exact = false;
      continue;
    }
    kept.push(piece);
  }
  if (found && exact) return null;
  kept.push(wanted);
  return kept.join('&');
}

// ---------------------------------------------------------------------------------------------
// Actions that do not depend on the request, built once

function connectTo(engine: SafeSearchEngine, host: string): SafeSearchAction {
  return Object.freeze({ engine, kind: 'connect-host', host });
}

function header(level: YouTubeLevel): SafeSearchAction {
  return Object.freeze({ engine: 'youtube', kind: 'add-header', name: 'YouTube-Restrict', value: level === 'strict' ? 'Strict' : 'Moderate' });
}

const CONNECT_ACTIONS: Readonly<Record<QueryEngine, SafeSearchAction>> = Object.freeze({
  google: connectTo('google', 'forcesafesearch.google.com'),
  bing: connectTo('bing', 'strict.bing.com'),
  duckduckgo: connectTo('duckduckgo', 'safe.duckduckgo.com'),
});
const YOUTUBE_CONNECT: Readonly<Record<YouTubeLevel, SafeSearchAction>> = Object.freeze({
  strict: connectTo('youtube', YOUTUBE_STRICT_HOST),
  moderate: connectTo('youtube', YOUTUBE_MODERATE_HOST),
});
const YOUTUBE_HEADER: Readonly<Record<YouTubeLevel, SafeSearchAction>> = Object.freeze({
  strict: header('strict'),
  moderate: header('moderate'),
});

// ---------------------------------------------------------------------------------------------

/** What to do for this request; null when safe search does not apply (not an engine, setting off, already safe). `connect` is true for a CONNECT tunnel (only the host is known). */
export function safeSearchFor(url: NormalisedUrl, connect: boolean, setting: SafeSearchSetting): SafeSearchAction | null {
  if (setting.engines.size === 0 || url.hostType !== 'name') return null;
  const host = url.host;
  const engine: SafeSearchEngine | undefined = isGoogleSearchHost(host)
    ? 'google'
    : (connect ? CONNECT_ENGINES : REQUEST_ENGINES).get(host);
  if (engine === undefined || !setting.engines.has(engine)) return null;

  if (engine === 'youtube') {
    // restrictmoderate.youtube.com is already safe for a moderate group only.
    if (host === YOUTUBE_MODERATE_HOST && setting.youtube === 'moderate') return null;
    return connect ? YOUTUBE_CONNECT[setting.youtube] : YOUTUBE_HEADER[setting.youtube];
  }
  if (connect) return CONNECT_ACTIONS[engine];

  const rule = QUERY_RULES[engine];
  if (!isSearchPath(url.path, rule)) return null;
  const query = withParam(url.query, rule.param, rule.value);
  if (query === null) return null;
  return { engine, kind: 'rewrite-query', param: rule.param, value: rule.value, url: `${url.path}?${query}` };
}

// ---------------------------------------------------------------------------------------------
// Configuration

const ENGINE_LIST = SAFE_SEARCH_ENGINES.join(', ');
const FORMS = `true (every engine, YouTube strict), false (none), or a list of engines such as [google, bing, duckduckgo, youtube]; for YouTube's moderate level write the item as "youtube: moderate"`;

function isEngine(name: string): name is SafeSearchEngine {
  return (SAFE_SEARCH_ENGINES as readonly string[]).includes(name);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function settingOf(engines: Iterable<SafeSearchEngine>, youtube: YouTubeLevel): SafeSearchSetting {
  return Object.freeze({ engines: new Set(engines) as ReadonlySet<SafeSearchEngine>, youtube });
}

/** Parses a config value: true (all engines, strict), false/absent (none), or a list of engine names, optionally with `youtube: moderate`; returns the setting or an error message with the fix. */
export function parseSafeSearch(value: unknown): SafeSearchSetting | { error: string; fix: string } {
  if (value === true) return settingOf(SAFE_SEARCH_ENGINES, 'strict');
  if (value === false || value === undefined || value === null) return settingOf([], 'strict');
  if (!Array.isArray(value)) {
    return { error: `safe search must be true, false or a list of engines, not ${shown(value)}`, fix: `write ${FORMS}` };
  }
  const engines = new Set<SafeSearchEngine>();
  let youtube: YouTubeLevel = 'strict';
  const add = (engine: SafeSearchEngine, at: number): { error: string; fix: string } | null => {
    if (engines.has(engine)) return { error: `item ${at + 1}: "${engine}" is listed more than once`, fix: `list each engine once${engine === 'youtube' ? '; write "youtube: moderate" instead of "youtube" for the moderate level' : ''}` };
    engines.add(engine);
    return null;
  };
  for (const [at, item] of (value as unknown[]).entries()) {
    if (typeof item === 'string') {
      const name = item.trim();
      if (isEngine(name)) {
        const dup = add(name, at);
        if (dup) return dup;
        continue;
      }
      const lower = name.toLowerCase();
      if (isEngine(lower)) return { error: `item ${at + 1}: unknown search engine ${shown(item)}`, fix: `write it in lower case: "${lower}"` };
      if (/^youtube\s*:/i.test(name)) return { error: `item ${at + 1}: ${shown(item)} is text, not a YouTube level`, fix: 'write it without quotes, as youtube: moderate (or youtube: strict)' };
      return { error: `item ${at + 1}: unknown search engine ${shown(item)}`, fix: `use one of ${ENGINE_LIST}; other search engines have no enforceable safe search, so block them by category instead` };
    }
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const keys = Object.keys(item);
      if (keys.length !== 1 || keys[0] !== 'youtube') {
        return { error: `item ${at + 1}: only YouTube takes a level, not ${keys.length === 0 ? 'an empty mapping' : keys.map((k) => JSON.stringify(k)).join(', ')}`, fix: `write the other engines as plain names (for example - google), and YouTube as youtube: strict or youtube: moderate` };
      }
      const level: unknown = (item as Record<string, unknown>).youtube;
      if (level !== 'strict' && level !== 'moderate') {
        return { error: `item ${at + 1}: YouTube level must be strict or moderate, not ${shown(level)}`, fix: 'write youtube: strict or youtube: moderate' };
      }
      const dup = add('youtube', at);
      if (dup) return dup;
      youtube = level;
      continue;
    }
    return { error: `item ${at + 1}: expected an engine name, not ${shown(item)}`, fix: `use one of ${ENGINE_LIST}, or youtube: moderate` };
  }
  return settingOf(engines, youtube);
}
