// The `tls:` section: which HTTPS traffic each group has decrypted (by category or site), what is
// never decrypted, which extra CAs upstream servers may use, and how pinned apps are noticed.
// Nothing is decrypted until the school's CA exists (`schoolgate ca init`); until then these
// settings are checked but have no effect.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Checker } from '../config/check.js';
import { YamlFile, type KeyPath } from '../config/yaml.js';
import { ConfigError } from '../config/errors.js';
import { SiteList, SiteListBuilder } from '../policy/site-list.js';

/** What one group has decrypted. */
export interface InterceptRule {
  /** Every HTTPS site except the never-intercept list. */
  readonly all: boolean;
  readonly categories: ReadonlySet<string>;
  readonly sites: SiteList<true>;
  /** The search engines of search-engines.yaml, so search terms are logged and alerted on. */
  readonly searchEngines: boolean;
  /** A tunnel blocked (or warned) on its host name is decrypted just long enough to show the page. */
  readonly blockPages: boolean;
}

export interface NeverIntercept {
  readonly file: string | null;
  readonly categories: ReadonlySet<string>;
  readonly sites: SiteList<true>;
}

export interface TlsConfig {
  /** Per group; a group not named is never decrypted (visitors' devices do not trust the school's CA). */
  readonly intercept: ReadonlyMap<string, InterceptRule>;
  readonly never: NeverIntercept;
  /** PEM certificates trusted for upstream servers in addition to the built-in roots (an internal CA). */
  readonly upstreamCas: readonly string[];
  /** Validity of the certificates minted for intercepted sites. */
  readonly certificateDays: number;
  /**
   * A host whose TLS handshake with Schoolgate's certificate fails on this many different devices
   * within the window (an app that pins its certificate) is tunnelled undecrypted for a while.
   */
  readonly pinning: { readonly devices: number; readonly windowMs: number; readonly bypassMs: number; readonly groups: ReadonlySet<string> };
  /** `ca rotate`: days the previous root stays trusted through a cross-certificate. */
  readonly rotationGraceDays: number;
}

const KEYS = ['intercept', 'neverIntercept', 'upstreamCAs', 'certificateDays', 'pinning', 'rotationGraceDays'];
const RULE_KEYS = ['categories', 'sites', 'searchEngines', 'blockPages'];
const NEVER_KEYS = ['categories', 'sites'];
const MINUTE = 60_000;

export const NO_TLS_CONFIG: TlsConfig = {
  intercept: new Map(),
  never: { file: null, categories: new Set(), sites: SiteList.empty() },
  upstreamCas: [],
  certificateDays: 7,
  pinning: { devices: 3, windowMs: 10 * MINUTE, bypassMs: 60 * MINUTE, groups: new Set(['staff']) },
  rotationGraceDays: 30,
};

/**
 * Parses `tls:`; `dir` resolves the files it names. `categories` and `groups` are the known ids,
 * so a typo is reported rather than silently decrypting nothing.
 */
export function parseTlsConfig(check: Checker, value: unknown, dir: string, categories: { has(id: string): boolean }, groups: ReadonlySet<string>): TlsConfig {
  if (value === undefined) return NO_TLS_CONFIG;
  const root = check.object(['tls'], value, KEYS) ?? {};
  const intercept = new Map<string, InterceptRule>();
  if (root.intercept !== undefined) {
    for (const [group, raw] of Object.entries(check.object(['tls', 'intercept'], root.intercept) ?? {})) {
      const at: KeyPath = ['tls', 'intercept', group];
      if (!groups.has(group)) {
        check.fail(at, `unknown group "${group}"`, `use one of: ${[...groups].join(', ')}`);
        continue;
      }
      const rule = parseRule(check, at, raw, categories);
      if (rule) intercept.set(group, rule);
    }
  }
  const num = (key: string, fallback: number, max: number): number =>
    root[key] === undefined ? fallback : check.number(['tls', key], root[key], { min: 1, max, integer: true }) ?? fallback;
  const pinning = root.pinning === undefined ? {} : check.object(['tls', 'pinning'], root.pinning, ['devices', 'withinMinutes', 'bypassMinutes', 'groups']) ?? {};
  const pin = (key: string, fallback: number, max: number): number =>
    pinning[key] === undefined ? fallback : check.number(['tls', 'pinning', key], pinning[key], { min: 1, max, integer: true }) ?? fallback;
  return {
    intercept,
    never: root.neverIntercept === undefined ? NO_TLS_CONFIG.never : loadNever(check, resolve(dir, check.string(['tls', 'neverIntercept'], root.neverIntercept) ?? ''), categories),
    upstreamCas: readCas(check, root.upstreamCAs, dir),
    certificateDays: num('certificateDays', 7, 90),
    pinning: {
      devices: pin('devices', 3, 1000),
      windowMs: pin('withinMinutes', 10, 24 * 60) * MINUTE,
      bypassMs: pin('bypassMinutes', 60, 7 * 24 * 60) * MINUTE,
      groups: pinning.groups === undefined ? new Set([...NO_TLS_CONFIG.pinning.groups].filter((g) => groups.has(g))) : check.ids(['tls', 'pinning', 'groups'], pinning.groups, groups, 'group', `use one of: ${[...groups].join(', ')}`),
    },
    rotationGraceDays: num('rotationGraceDays', 30, 365),
  };
}

function parseRule(check: Checker, at: KeyPath, raw: unknown, categories: { has(id: string): boolean }): InterceptRule | undefined {
  if (raw === 'all') return { all: true, categories: new Set(), sites: SiteList.empty(), searchEngines: true, blockPages: true };
  const r = check.object(at, raw, RULE_KEYS);
  if (!r) return undefined;
  const all = r.categories === 'all';
  return {
    all,
    categories: all ? new Set() : categoryList(check, [...at, 'categories'], r.categories, categories),
    sites: siteList(check, [...at, 'sites'], r.sites),
    searchEngines: r.searchEngines === undefined ? true : check.boolean([...at, 'searchEngines'], r.searchEngines) ?? true,
    blockPages: r.blockPages === undefined ? true : check.boolean([...at, 'blockPages'], r.blockPages) ?? true,
  };
}

function categoryList(check: Checker, at: KeyPath, v: unknown, categories: { has(id: string): boolean }): ReadonlySet<string> {
  return v === undefined ? new Set() : check.ids(at, v, categories, 'category', 'use a category id from the category map');
}

function siteList(check: Checker, at: KeyPath, v: unknown): SiteList<true> {
  if (v === undefined) return SiteList.empty();
  const b = new SiteListBuilder<true>();
  (check.array(at, v) ?? []).forEach((s, i) => {
    const text = check.string([...at, i], s);
    if (text === undefined) return;
    const added = b.add(text, true);
    if ('error' in added) check.fail([...at, i], added.error, 'a host (example.com) or host and path (example.com/maths)');
  });
  return b.build();
}

/** The never-intercept file: categories and sites no group has decrypted. */
function loadNever(check: Checker, file: string, categories: { has(id: string): boolean }): NeverIntercept {
  let yaml: YamlFile;
  try {
    yaml = YamlFile.read(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    check.problems.push(...err.problems);
    return { ...NO_TLS_CONFIG.never, file };
  }
  // Problems in that file are reported with its own name and lines.
  const own = new Checker(yaml);
  const top = own.object([], yaml.value, NEVER_KEYS) ?? {};
  const never = { file, categories: categoryList(own, ['categories'], top.categories, categories), sites: siteList(own, ['sites'], top.sites) };
  check.problems.push(...own.problems);
  return never;
}

function readCas(check: Checker, v: unknown, dir: string): string[] {
  if (v === undefined) return [];
  const out: string[] = [];
  (check.array(['tls', 'upstreamCAs'], v) ?? []).forEach((f, i) => {
    const name = check.string(['tls', 'upstreamCAs', i], f);
    if (name === undefined) return;
    try {
      const pem = readFileSync(resolve(dir, name), 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) check.fail(['tls', 'upstreamCAs', i], `${name} holds no PEM certificate`, 'give a file with -----BEGIN CERTIFICATE----- blocks');
      else out.push(pem);
    } catch (err) {
      check.fail(['tls', 'upstreamCAs', i], `cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  });
  return out;
}
