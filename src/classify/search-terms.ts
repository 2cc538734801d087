// Search terms: what a pupil typed into a search engine, read from the URL of the search (or
// of the suggestion request the page makes while they type), so it can be logged and run
// through the phrase lists. Which engines and parameters count is config
// (config/search-engines.yaml): engines change their URLs more often than we release.
//
// extract() runs on every request. A URL without a query, or with an IP address for a host,
// costs nothing; any other host that is not an engine costs two Map lookups: its exact name,
// then its site label (the label before the public suffix: "google" in www.google.co.uk),
// under which the wildcard host patterns are filed.
import { Checker } from '../config/check.js';
import { YamlFile, type KeyPath } from '../config/yaml.js';
import { normalisePath } from './normalise-path.js';
import { decodeQueryValue, foldText } from './normalise-text.js';
import type { NormalisedUrl } from './normalise-url.js';

export interface SearchEngineRule {
  /** Exact path, or a path prefix when it ends with '*'; compared ignoring ASCII case. */
  path: string;
  /** The query parameter that holds the search term. */
  param: string;
  /** True for autocomplete and suggestion requests: the term is still being typed. */
  partial: boolean;
  /** Other query parameters that must have these values (Wikipedia's action: opensearch). */
  require?: Readonly<Record<string, string>>;
}

export interface SearchEngineConfig {
  /** Names the engine in logs; several entries may share a name (Google's suggest host). */
  name: string;
  /** "www.bing.com" (exact), "*.wikipedia.org" (any subdomain), "google.*" (any public suffix). */
  hosts: string[];
  rules: SearchEngineRule[];
}

export interface SearchTerm {
  readonly engine: string;
  /** The term folded with foldText: what the phrase lists match. */
  readonly text: string;
  /** The term as typed: decoded, whitespace collapsed, at most MAX_TERM_LENGTH characters. */
  readonly raw: string;
  readonly partial: boolean;
}

/** Longer terms are cut: a log line is not the place for a pasted essay. */
export const MAX_TERM_LENGTH = 1024;

// ---------------------------------------------------------------------------------------
// Hosts

/**
 * Second-level labels under which country-code domains are registered (google.co.uk,
 * google.com.pk). Without the Public Suffix List this is a heuristic, which is enough here:
 * it only decides where a "name.*" pattern's suffix starts, and both sides use it alike.
 */
const SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'ac', 'edu', 'gov', 'gob', 'gouv', 'go', 'ne', 'or', 'mil', 'nic', 'ltd', 'plc', 'sch', 'nhs', 'biz', 'info', 'web', 'nom']);

/** Index of the first character of the host's public suffix, or -1 for a host of one label. */
function suffixStart(host: string): number {
  const last = host.lastIndexOf('.');
  if (last <= 0) return -1;
  const second = host.lastIndexOf('.', last - 1);
  if (second > 0 && host.length - last === 3 && SECOND_LEVEL.has(host.slice(second + 1, last))) return second + 1;
  return last + 1;
}

/** The label before the public suffix ("google" for www.google.co.uk), or '' if there is none. */
function siteLabel(host: string): string {
  const s = suffixStart(host);
  if (s <= 0) return '';
  return host.slice(host.lastIndexOf('.', s - 2) + 1, s - 1);
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

type HostPattern =
  | { readonly kind: 'exact'; readonly host: string }
  | { readonly kind: 'suffix'; readonly suffix: string; readonly site: string }
  | { readonly kind: 'name'; readonly name: string; readonly site: string };

/** Parses one host pattern; a string is the reason it is not valid. */
function parseHostPattern(pattern: string): HostPattern | string {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) {
    const suffix = p.slice(2);
    if (!HOST_NAME.test(suffix)) return 'is not "*." followed by a host name';
    const site = siteLabel(suffix);
    // "*.co.uk" or "*.com" would read search terms from every site under a public suffix.
    if (site === '' || (suffix.indexOf('.') === suffix.lastIndexOf('.') && SECOND_LEVEL.has(site) && suffix.length - suffix.lastIndexOf('.') === 3)) {
      return 'covers a whole public suffix';
    }
    return { kind: 'suffix', suffix: '.' + suffix, site };
  }
  if (p.endsWith('.*')) {
    const name = p.slice(0, -2);
    if (!HOST_NAME.test(name)) return 'is not a host name followed by ".*"';
    return { kind: 'name', name, site: name.slice(name.lastIndexOf('.') + 1) };
  }
  if (p.includes('*')) return "has a '*' that is neither a leading \"*.\" nor a trailing \".*\"";
  if (!HOST_NAME.test(p) || !p.includes('.')) return 'is not a host name';
  return { kind: 'exact', host: p };
}

// ---------------------------------------------------------------------------------------
// Loading

const ENGINE_KEYS = ['name', 'hosts', 'rules'];
const RULE_KEYS = ['path', 'param', 'partial', 'require'];
const HOST_FORMS = 'write an exact host (www.bing.com), "*.example.org" for any subdomain, or "google.*" for any public suffix';

/** Reads the search engine file; throws ConfigError with every problem, each with its line. */
export function loadSearchEngines(path: string): SearchEngineConfig[] {
  const yaml = YamlFile.read(path);
  const c = new Checker(yaml);
  const out: SearchEngineConfig[] = [];
  const top = c.object([], yaml.value, ['engines']);
  const engines = top ? c.array(['engines'], top.engines) : undefined;
  const hostsSeen = new Map<string, { engine: string; line: number }>();
  engines?.forEach((v, i) => {
    const at: KeyPath = ['engines', i];
    const e = c.object(at, v, ENGINE_KEYS);
    if (!e) return;
    const name = c.string([...at, 'name'], e.name, { pattern: /^[a-z0-9][a-z0-9-]*$/, patternHelp: 'use lower-case letters, digits and "-", e.g. google' });
    const hosts = readHosts(c, yaml, at, e.hosts, name ?? '?', hostsSeen);
    const rules = readRules(c, at, e.rules);
    if (name !== undefined && hosts && rules) out.push({ name, hosts, rules });
  });
  c.done();
  return out;
}

function readHosts(c: Checker, yaml: YamlFile, at: KeyPath, v: unknown, engine: string, seen: Map<string, { engine: string; line: number }>): string[] | undefined {
  const list = c.array([...at, 'hosts'], v);
  if (!list) return undefined;
  if (list.length === 0) return c.fail([...at, 'hosts'], 'must list at least one host', HOST_FORMS);
  const hosts: string[] = [];
  list.forEach((h, j) => {
    const path: KeyPath = [...at, 'hosts', j];
    const s = c.string(path, h);
    if (s === undefined) return;
    const parsed = parseHostPattern(s);
    if (typeof parsed === 'string') {
      c.fail(path, `host "${s}" ${parsed}`, HOST_FORMS);
      return;
    }
    const key = s.toLowerCase();
    const before = seen.get(key);
    if (before) c.fail(path, `host "${s}" is already listed for ${before.engine} on line ${before.line}`, 'list each host once');
    else seen.set(key, { engine, line: yaml.lineOf(path) });
    hosts.push(key);
  });
  return hosts.length === list.length ? hosts : undefined;
}

function readRules(c: Checker, at: KeyPath, v: unknown): SearchEngineRule[] | undefined {
  const list = c.array([...at, 'rules'], v);
  if (!list) return undefined;
  if (list.length === 0) return c.fail([...at, 'rules'], 'must list at least one rule', 'add "- { path: /search, param: q }"');
  const rules: SearchEngineRule[] = [];
  list.forEach((r, j) => {
    const rp: KeyPath = [...at, 'rules', j];
    const o = c.object(rp, r, RULE_KEYS);
    if (!o) return;
    const path = c.string([...rp, 'path'], o.path, {
      pattern: /^\/[^*?#\s]*\*?$/, patternHelp: "a path starts with '/', has no '?', '#' or spaces, and may end with '*' to match a prefix",
    });
    const param = c.string([...rp, 'param'], o.param, { pattern: /^[^&=#\s]+$/, patternHelp: 'the name of a query parameter, e.g. q' });
    const partial = o.partial === undefined ? false : c.boolean([...rp, 'partial'], o.partial);
    let require: Record<string, string> | undefined;
    let requireOk = true;
    if (o.require !== undefined) {
      const req = c.object([...rp, 'require'], o.require);
      if (!req) requireOk = false;
      else {
        require = {};
        for (const [k, val] of Object.entries(req)) {
          const s = c.string([...rp, 'require', k], val);
          if (s === undefined) requireOk = false;
          else require[k] = s;
        }
      }
    }
    if (path === undefined || param === undefined || partial === undefined || !requireOk) return;
    rules.push({ path, param, partial, ...(require ? { require } : {}) });
  });
  return rules.length === list.length ? rules : undefined;
}

// ---------------------------------------------------------------------------------------
// Extraction

interface CompiledRule {
  /** Lower case, normalised as request paths are. */
  readonly path: string;
  readonly prefix: boolean;
  readonly param: string;
  readonly partial: boolean;
  readonly require: readonly (readonly [string, string])[];
}

interface CompiledEngine {
  readonly name: string;
  readonly rules: readonly CompiledRule[];
}

interface WildHost {
  readonly pattern: HostPattern & { kind: 'suffix' | 'name' };
  readonly engine: CompiledEngine;
}

export class SearchTermExtractor {
  private readonly exact = new Map<string, CompiledEngine>();
  /** Wildcard patterns by site label, most specific first. */
  private readonly bySite = new Map<string, WildHost[]>();

  constructor(engines: readonly SearchEngineConfig[]) {
    for (const e of engines) {
      const engine: CompiledEngine = { name: e.name, rules: e.rules.map(compileRule) };
      for (const h of e.hosts) {
        const p = parseHostPattern(h);
        if (typeof p === 'string') throw new RangeError(`search engine ${e.name}: host "${h}" ${p}`);
        if (p.kind === 'exact') {
          if (!this.exact.has(p.host)) this.exact.set(p.host, engine);
          continue;
        }
        const list = this.bySite.get(p.site) ?? [];
        list.push({ pattern: p, engine });
        this.bySite.set(p.site, list);
      }
    }
    for (const list of this.bySite.values()) list.sort((a, b) => patternLength(b.pattern) - patternLength(a.pattern));
  }

  /** The engine whose search terms this host's URLs carry, if any (whether to decrypt its HTTPS). */
  engineOf(host: string): string | null {
    return (this.exact.get(host) ?? this.wildcard(host))?.name ?? null;
  }

  extract(url: NormalisedUrl): SearchTerm | null {
    if (url.query === '' || url.hostType !== 'name') return null;
    const engine = this.exact.get(url.host) ?? this.wildcard(url.host);
    if (engine === undefined) return null;
    // The normalised path keeps reserved characters escaped ("/wiki/Special%3ASearch"); a
    // literal '+' in a path is a plus, not a space.
    const path = url.path.includes('%') ? decodeQueryValue(url.path.replaceAll('+', '%2B')) : url.path;
    for (const rule of engine.rules) {
      if (!pathMatches(path, rule)) continue;
      const value = queryParam(url.query, rule.param);
      if (value === null) continue;
      if (!rule.require.every(([k, v]) => paramEquals(url.query, k, v))) continue;
      // U+FEFF is whitespace to \s but an invisible character inside a word to a pupil ("my\ufeffself"): kept for evasions.ts to drop.
      const raw = cut(decodeQueryValue(value).replace(/[^\S\ufeff]+/g, ' ').trim());
      if (raw === '') return null;
      return { engine: engine.name, text: foldText(raw), raw, partial: rule.partial };
    }
    return null;
  }

  private wildcard(host: string): CompiledEngine | undefined {
    const site = siteLabel(host);
    const list = site === '' ? undefined : this.bySite.get(site);
    if (list === undefined) return undefined;
    const start = suffixStart(host);
    for (const { pattern, engine } of list) {
      if (pattern.kind === 'suffix' ? host.endsWith(pattern.suffix) : start - 1 === pattern.name.length && host.startsWith(pattern.name)) return engine;
    }
    return undefined;
  }
}

function patternLength(p: HostPattern): number {
  return p.kind === 'suffix' ? p.suffix.length : p.kind === 'name' ? p.name.length : p.host.length;
}

function compileRule(r: SearchEngineRule): CompiledRule {
  const prefix = r.path.endsWith('*');
  const body = prefix ? r.path.slice(0, -1) : r.path;
  return {
    // The request path is normalised; the rule's must be too, or "/a//b" would never match.
    // A prefix keeps its trailing '/', which normalisePath would otherwise keep anyway.
    path: (body === '' ? '/' : normalisePath(body)).toLowerCase(),
    prefix,
    param: r.param,
    partial: r.partial,
    require: Object.entries(r.require ?? {}),
  };
}

function pathMatches(path: string, rule: CompiledRule): boolean {
  const want = rule.path;
  if (rule.prefix ? path.length < want.length : path.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    let c = path.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== want.charCodeAt(i)) return false;
  }
  return true;
}

/** The raw (still encoded) value of the first `name` parameter, '' when it has no '='; null when absent. */
function queryParam(query: string, name: string): string | null {
  let i = 0;
  const n = query.length;
  while (i <= n) {
    let end = query.indexOf('&', i);
    if (end < 0) end = n;
    if (query.startsWith(name, i)) {
      const after = i + name.length;
      if (after === end) return '';
      if (query.charCodeAt(after) === 61 /* = */) return query.slice(after + 1, end);
    }
    i = end + 1;
  }
  return null;
}

function paramEquals(query: string, name: string, want: string): boolean {
  const got = queryParam(query, name);
  return got !== null && decodeQueryValue(got) === want;
}

function cut(s: string): string {
  if (s.length <= MAX_TERM_LENGTH) return s;
  // Never split a surrogate pair.
  const c = s.charCodeAt(MAX_TERM_LENGTH - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? MAX_TERM_LENGTH - 1 : MAX_TERM_LENGTH).trimEnd();
}
