// Loads config/default.yaml (or the file given with --config) and the files it names,
// validates everything, and resolves paths. Every problem in every file is reported at once,
// each with file, line, key and fix; nothing half-valid is ever returned.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafeguardingFile, type SafeguardingConfig } from '../alerts/taxonomy.js';
import { CATEGORY_ID, CategoryRegistry, ILLEGAL_CATEGORIES, type CategoryInfo } from '../classify/categories.js';
import type { ListRole } from '../classify/lists.js';
import { combinationsThatCannotFit, loadPhraseFile, phraseFilesAt, undefinedClasses, type EmojiEntry, type PhraseEntry, type WordClassEntry } from '../classify/phrase-file.js';
import { DEFAULT_DANGER_THRESHOLD } from '../classify/phrases.js';
import { loadSearchModel, type SearchModel } from '../classify/search-model.js';
import { loadSearchEngines, type SearchEngineConfig } from '../classify/search-terms.js';
import { compilePolicy } from '../policy/compile.js';
import type { PolicySnapshot } from '../policy/types.js';
import { parseProxyConfig, type ProxyConfig } from '../proxy/config.js';
import { parseTlsConfig, type TlsConfig } from '../tls/config.js';
import { parseAdminConfig, type AdminConfig } from '../admin/config.js';
import { parseLogConfig, parseRetentionConfig, type LogConfig, type RetentionConfig } from '../store/config.js';
import { Checker } from './check.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { SOURCE_FORMATS, type ListSourceConfig, type Refresh, type SourceFormat } from './types.js';
import { YamlFile, type KeyPath } from './yaml.js';

/** The project's own folder: the self-test list ships with the code, not with the config. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The shipped safeguarding taxonomy, used when the configuration names no file of its own. */
export const SHIPPED_SAFEGUARDING = resolve(PACKAGE_ROOT, 'config/safeguarding.yaml');
export const SELFTEST_SOURCE: ListSourceConfig = {
  name: 'selftest', format: 'squidguard', path: resolve(PACKAGE_ROOT, 'blocklists/selftest'),
  role: 'category', sensitive: false, refresh: null, minKeepRatio: 0.5,
};

export interface SchoolgateConfig {
  readonly file: string;
  /** The text of `file` as it was loaded (the other files it names are not included). */
  readonly text: string;
  readonly school: { readonly name: string; readonly timezone: string; readonly staffAppUrl: string | null };
  readonly categories: CategoryRegistry;
  /** Configured sources, with the self-test source first. */
  readonly sources: readonly ListSourceConfig[];
  readonly searchEngines: readonly SearchEngineConfig[];
  readonly phrases: {
    readonly entries: readonly PhraseEntry[];
    /** Word classes (@self) and emoji stand-ins, from every phrase file. */
    readonly classes: readonly WordClassEntry[];
    readonly emoji: readonly EmojiEntry[];
    /** Score that raises a category (caution), per category where set. */
    readonly threshold: number;
    readonly thresholds: Readonly<Record<string, number>>;
    /** Score that makes it danger. */
    readonly danger: number;
    /** The learned search model (README.md, "The learned search model"), or null when `model: off`. */
    readonly model: SearchModelSettings | null;
  };
  readonly classifier: { readonly cacheSize: number };
  /** The compiled filtering policy (groups, levels, schedules, users); unblocks are added at run time. */
  readonly policy: PolicySnapshot;
  readonly proxy: ProxyConfig;
  readonly log: LogConfig;
  readonly retention: RetentionConfig;
  /** The safeguarding taxonomy, exclusions and recipients (`safeguarding:`, default the shipped config/safeguarding.yaml). */
  readonly safeguarding: SafeguardingConfig;
  /** Redis for the alert queue (BullMQ); null runs delivery in-process from the outbox. */
  readonly redis: { readonly url: string; readonly prefix: string } | null;
  /** HTTPS inspection: which groups and sites are decrypted once the school's CA exists. */
  readonly tls: TlsConfig;
  /** The staff web app: where it listens, and the rules for unblock requests. */
  readonly admin: AdminConfig;
}

export interface SearchModelSettings {
  readonly file: string;
  readonly model: SearchModel;
  /** The probability at which it raises a concern (at caution) that the lists did not. */
  readonly threshold: number;
  /**
   * The probability of a concern's danger class at which a concern the lists raised goes to
   * danger (capped by the category's search severity); null when absent: the model never raises danger.
   */
  readonly danger: number | null;
  /**
   * The probability of a concern's danger class at which a concern the model raises (at
   * `threshold`) and no list did is danger on its own (capped by the category's search
   * severity); null when absent: the model alone raises caution at most.
   */
  readonly alone: number | null;
}

const TOP_KEYS = ['school', 'categories', 'lists', 'search', 'phrases', 'classifier', 'policy', 'proxy', 'log', 'retention', 'safeguarding', 'redis', 'tls', 'admin'];
const SOURCE_KEYS = ['name', 'format', 'path', 'url', 'category', 'role', 'sensitive', 'refresh', 'ca', 'minKeepRatio'];
const ROLES: readonly ListRole[] = ['category', 'allow', 'block'];
const NAMED_REFRESH: Readonly<Record<string, number>> = { hourly: 1, 'twice-daily': 12, nightly: 24, daily: 24, weekly: 168 };
const HOUR = 3_600_000;

export function parseRefresh(text: string): Refresh | null | undefined {
  if (text === 'never') return null;
  const named = NAMED_REFRESH[text];
  if (named !== undefined) return { everyMs: named * HOUR, label: text };
  const m = /^(\d+)\s*(m|h|d)$/.exec(text);
  if (!m) return undefined;
  const everyMs = Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'h' ? HOUR : 24 * HOUR);
  return everyMs >= 5 * 60_000 ? { everyMs, label: text } : undefined;
}

/** Loads and validates a configuration file and the files it refers to. */
export function loadConfig(file: string): SchoolgateConfig {
  const path = resolve(file);
  const yaml = YamlFile.read(path);
  const check = new Checker(yaml);
  const problems: ConfigProblem[] = [];
  const dir = dirname(path);
  const root = check.object([], yaml.value ?? {}, TOP_KEYS) ?? {};

  const schoolObj = root.school === undefined ? {} : check.object(['school'], root.school, ['name', 'timezone', 'staffAppUrl']) ?? {};
  const school = {
    name: schoolObj.name === undefined ? 'Schoolgate' : check.string(['school', 'name'], schoolObj.name) ?? 'Schoolgate',
    timezone: schoolObj.timezone === undefined ? 'Europe/London' : validTimezone(check, schoolObj.timezone) ?? 'Europe/London',
    staffAppUrl: schoolObj.staffAppUrl === undefined ? null : httpUrl(check, ['school', 'staffAppUrl'], schoolObj.staffAppUrl),
  };

  let categories = new CategoryRegistry([], new Map());
  const categoriesFile = root.categories === undefined ? undefined : check.string(['categories'], root.categories);
  if (categoriesFile !== undefined) {
    try {
      categories = loadCategoryMap(resolve(dir, categoriesFile));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }

  const sources = [SELFTEST_SOURCE, ...loadSources(check, root.lists, dir, categories)];

  const searchEngines: SearchEngineConfig[] = [];
  const phraseEntries: PhraseEntry[] = [];
  const phraseClasses: WordClassEntry[] = [];
  const phraseEmoji: EmojiEntry[] = [];
  const collect = <T>(fn: () => T[], into: T[]): void => {
    try {
      into.push(...fn());
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  };
  const search = root.search === undefined ? {} : check.object(['search'], root.search, ['engines']) ?? {};
  if (search.engines !== undefined) {
    const f = check.string(['search', 'engines'], search.engines);
    if (f !== undefined) collect(() => loadSearchEngines(resolve(dir, f)), searchEngines);
  }

  const phrases = root.phrases === undefined ? {} : check.object(['phrases'], root.phrases, ['threshold', 'thresholds', 'danger', 'files', 'model']) ?? {};
  const threshold = phrases.threshold === undefined ? 10 : check.number(['phrases', 'threshold'], phrases.threshold, { min: 1, max: 1000 }) ?? 10;
  const danger = phrases.danger === undefined ? Math.max(DEFAULT_DANGER_THRESHOLD, 2 * threshold) : check.number(['phrases', 'danger'], phrases.danger, { min: threshold, max: 1000 }) ?? 2 * threshold;
  const thresholds: Record<string, number> = {};
  if (phrases.thresholds !== undefined) {
    const t = check.object(['phrases', 'thresholds'], phrases.thresholds) ?? {};
    for (const [cat, v] of Object.entries(t)) {
      if (!categories.has(cat)) check.fail(['phrases', 'thresholds', cat], `unknown category "${cat}"`, 'use a category id from the category map');
      const n = check.number(['phrases', 'thresholds', cat], v, { min: 1, max: 1000 });
      if (n !== undefined) thresholds[cat] = n;
    }
  }
  if (phrases.files !== undefined) {
    const files = check.array(['phrases', 'files'], phrases.files) ?? [];
    files.forEach((f, i) => {
      const name = check.string(['phrases', 'files', i], f);
      if (name === undefined) return;
      for (const file of phraseFilesAt(resolve(dir, name))) {
        try {
          const one = loadPhraseFile(file);
          phraseEntries.push(...one.entries);
          phraseClasses.push(...one.classes);
          phraseEmoji.push(...one.emoji);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          problems.push(...err.problems);
        }
      }
    });
  }
  const model = phrases.model === undefined ? null : searchModelSettings(check, phrases.model, dir);
  problems.push(...undefinedClasses(phraseEntries, phraseClasses), ...combinationsThatCannotFit(phraseEntries, phraseClasses));
  for (const e of phraseEntries) {
    if (!categories.has(e.category)) problems.push({ file: e.file, line: e.line, key: e.category, message: `unknown category "${e.category}"`, fix: 'use a category id from the category map' });
  }

  const cls = root.classifier === undefined ? {} : check.object(['classifier'], root.classifier, ['cacheSize']) ?? {};
  const cacheSize = cls.cacheSize === undefined ? 20_000 : check.number(['classifier', 'cacheSize'], cls.cacheSize, { min: 0, max: 10_000_000, integer: true }) ?? 20_000;

  const policy = compilePolicy(check, root.policy, categories, school.timezone);
  const proxy = parseProxyConfig(check, root.proxy, new Set(policy.groups.keys()));
  const log = parseLogConfig(check, root.log, new Set(policy.groups.keys()));
  const retention = parseRetentionConfig(check, root.retention);
  const admin = parseAdminConfig(check, root.admin, categories);
  const tls = parseTlsConfig(check, root.tls, dir, categories, new Set(policy.groups.keys()));
  const safeguardingFile = root.safeguarding === undefined ? SHIPPED_SAFEGUARDING : resolve(dir, check.string(['safeguarding'], root.safeguarding) ?? SHIPPED_SAFEGUARDING);
  let safeguarding: SafeguardingConfig | undefined;
  try {
    safeguarding = loadSafeguardingFile(safeguardingFile, categories, new Set(policy.groups.keys()));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }

  const all = [...check.problems, ...problems];
  const redis = parseRedis(check, root.redis);
  if (all.length > 0 || safeguarding === undefined) throw new ConfigError(all);
  return { file: path, text: yaml.text, school, categories, sources, searchEngines, phrases: { entries: phraseEntries, classes: phraseClasses, emoji: phraseEmoji, threshold, thresholds, danger, model }, classifier: { cacheSize }, policy, proxy, log, retention, safeguarding, redis, tls, admin };
}

/** `phrases.model`: off, or the model file, the probability it raises a concern at, and the danger-class probability that takes a concern the lists raised to danger. */
function searchModelSettings(check: Checker, v: unknown, dir: string): SearchModelSettings | null {
  const at = ['phrases', 'model'];
  if (v === 'off' || v === false) return null;
  const fix = 'write model: { file: search-model.json, threshold: 0.95, danger: 0.2 }, or model: off';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return check.fail(at, `must be "off" or a mapping with file and threshold, found ${JSON.stringify(v)}`, fix) ?? null;
  const m = check.object(at, v, ['file', 'threshold', 'danger', 'alone']) ?? {};
  if (m.file === undefined) check.fail(at, 'has no file', fix);
  if (m.threshold === undefined) check.fail(at, 'has no threshold', fix);
  const name = m.file === undefined ? undefined : check.string([...at, 'file'], m.file);
  // Below one half, two concerns could both be raised by one search; at 1 never any.
  const threshold = m.threshold === undefined ? undefined : check.number([...at, 'threshold'], m.threshold, { min: 0.5, max: 0.99 });
  // A danger class's probability is part of its concern's, so it is set lower; below 0.1 nearly
  // every raised concern of a danger category would be danger.
  const danger = m.danger === undefined ? null : check.number([...at, 'danger'], m.danger, { min: 0.1, max: 0.99 });
  // Danger without any list is a bigger step than promoting a list's concern: it needs the
  // danger class at least as probable as promotion does.
  const alone = m.alone === undefined ? null : check.number([...at, 'alone'], m.alone, { min: 0.1, max: 0.99 });
  if (alone !== null && alone !== undefined && danger !== null && danger !== undefined && alone < danger) {
    check.fail([...at, 'alone'], `(${alone}) must not be below danger (${danger}): the model alone must be surer than when it promotes a list's concern`, 'raise alone, or remove it');
    return null;
  }
  if (name === undefined || threshold === undefined || danger === undefined || alone === undefined) return null;
  const file = resolve(dir, name);
  let model: SearchModel;
  try {
    model = loadSearchModel(file);
  } catch (err) {
    return check.fail([...at, 'file'], `cannot load the search model ${file}: ${(err as Error).message}`, 'train it with npm run train:search-model, or set model: off') ?? null;
  }
  if (danger !== null && !model.graded) {
    return check.fail([...at, 'danger'], `the search model ${file} has no danger classes (its classes are concerns without severities), so it cannot raise danger`, 'train it again with npm run train:search-model, or remove danger') ?? null;
  }
  if (alone !== null && !model.graded) {
    return check.fail([...at, 'alone'], `the search model ${file} has no danger classes (its classes are concerns without severities), so it cannot raise danger`, 'train it again with npm run train:search-model, or remove alone') ?? null;
  }
  return { file, model, threshold, danger, alone };
}

function validTimezone(check: Checker, v: unknown): string | undefined {
  const tz = check.string(['school', 'timezone'], v);
  if (tz === undefined) return undefined;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return tz;
  } catch {
    return check.fail(['school', 'timezone'], `"${tz}" is not a time zone`, 'use an IANA name such as Europe/London');
  }
}

function loadSources(check: Checker, v: unknown, dir: string, categories: CategoryRegistry): ListSourceConfig[] {
  if (v === undefined) return [];
  const lists = check.object(['lists'], v, ['sources']);
  if (!lists || lists.sources === undefined) return [];
  const items = check.array(['lists', 'sources'], lists.sources) ?? [];
  const out: ListSourceConfig[] = [];
  const seen = new Set<string>(['selftest']);
  items.forEach((item, i) => {
    const at: KeyPath = ['lists', 'sources', i];
    const s = check.object(at, item, SOURCE_KEYS);
    if (!s) return;
    const name = check.string([...at, 'name'], s.name, { pattern: /^[a-z0-9][a-z0-9-]{0,39}$/, patternHelp: 'use lower-case letters, digits and hyphens' });
    if (name !== undefined) {
      if (seen.has(name)) check.fail([...at, 'name'], name === 'selftest' ? '"selftest" is reserved for the built-in self-test list' : `source name "${name}" is used twice`, 'give each source its own name');
      seen.add(name);
    }
    const format = check.string([...at, 'format'], s.format, { oneOf: SOURCE_FORMATS }) as SourceFormat | undefined;
    const role = s.role === undefined ? 'category' : (check.string([...at, 'role'], s.role, { oneOf: ROLES }) as ListRole | undefined);
    if (s.path === undefined && s.url === undefined) check.fail(at, 'a source needs "path" (a local file or folder) or "url" (https://…)');
    if (s.path !== undefined && s.url !== undefined) check.fail([...at, 'url'], 'a source has either "path" or "url", not both');
    const path = s.path === undefined ? undefined : check.string([...at, 'path'], s.path);
    const url = s.url === undefined ? undefined : check.string([...at, 'url'], s.url, { pattern: /^https:\/\/[^\s/]+/, patternHelp: 'lists are downloaded over https:// only' });
    let category: string | undefined;
    if (s.category !== undefined) {
      category = check.string([...at, 'category'], s.category, { pattern: CATEGORY_ID });
      if (category !== undefined && !categories.has(category)) category = check.fail([...at, 'category'], `unknown category "${category}"`, 'use a built-in id or add it under categories: in the category map');
    } else if (format !== undefined && format !== 'squidguard' && (name === undefined || categories.categoryOf(name) === undefined)) {
      check.fail(at, `a ${format} source needs "category"`, 'name the category its entries belong to');
    }
    if (role === 'allow' && category !== undefined && ILLEGAL_CATEGORIES.has(category)) {
      check.fail([...at, 'role'], `illegal is not a setting: a ${category} list cannot be an allow list`, 'remove "role: allow"');
    }
    const illegal = category !== undefined && ILLEGAL_CATEGORIES.has(category);
    const sensitiveDefault = illegal || format === 'iwf' || format === 'sha256-urls';
    const sensitive = s.sensitive === undefined ? sensitiveDefault : check.boolean([...at, 'sensitive'], s.sensitive) ?? sensitiveDefault;
    if (illegal && sensitive === false) check.fail([...at, 'sensitive'], `a ${category} list is always sensitive: its entries are never shown`, 'remove "sensitive: false"');
    let refresh: Refresh | null = null;
    if (url !== undefined) {
      const text = s.refresh === undefined ? (illegal ? 'twice-daily' : 'nightly') : check.string([...at, 'refresh'], s.refresh);
      if (text !== undefined) {
        const r = parseRefresh(text);
        if (r === undefined) check.fail([...at, 'refresh'], `"${text}" is not a refresh schedule`, 'use hourly, twice-daily, nightly, weekly, never, or a duration such as 6h (at least 5m)');
        else refresh = r;
      }
    } else if (s.refresh !== undefined) check.fail([...at, 'refresh'], 'only downloaded (url:) sources are refreshed', 'remove "refresh" or use "url"');
    const ca = s.ca === undefined ? undefined : check.string([...at, 'ca'], s.ca);
    const minKeepRatio = s.minKeepRatio === undefined ? 0.5 : check.number([...at, 'minKeepRatio'], s.minKeepRatio, { min: 0, max: 1 }) ?? 0.5;
    if (name === undefined || format === undefined || role === undefined) return;
    out.push({
      name, format, role, sensitive, refresh, minKeepRatio,
      ...(path !== undefined ? { path: resolve(dir, path) } : {}),
      ...(url !== undefined ? { url } : {}),
      ...(category !== undefined ? { category } : {}),
      ...(ca !== undefined ? { ca: resolve(dir, ca) } : {}),
    });
  });
  return out;
}

/** Reads the category map: the school's extra categories and list-name -> category lines. */
export function loadCategoryMap(file: string): CategoryRegistry {
  const yaml = YamlFile.read(file);
  const check = new Checker(yaml);
  const root = check.object([], yaml.value ?? {}, ['categories', 'lists']) ?? {};
  const custom: CategoryInfo[] = [];
  const base = new CategoryRegistry([], new Map());
  if (root.categories !== undefined) {
    const cats = check.object(['categories'], root.categories) ?? {};
    for (const [id, label] of Object.entries(cats)) {
      if (!CATEGORY_ID.test(id)) { check.fail(['categories', id], `"${id}" is not a valid category id`, 'use lower-case letters, digits and hyphens, starting with a letter'); continue; }
      if (base.has(id)) { check.fail(['categories', id], `"${id}" is a built-in category`, 'remove it from categories:'); continue; }
      const text = check.string(['categories', id], label);
      if (text !== undefined) custom.push({ id, group: 'custom', label: text });
    }
  }
  const known = new CategoryRegistry(custom, new Map());
  const listMap = new Map<string, string>();
  if (root.lists !== undefined) {
    const lists = check.object(['lists'], root.lists) ?? {};
    for (const [list, cat] of Object.entries(lists)) {
      const id = check.string(['lists', list], cat);
      if (id === undefined) continue;
      if (!known.has(id)) check.fail(['lists', list], `unknown category "${id}"`, 'use a built-in id or add it under categories:');
      else listMap.set(list, id);
    }
  }
  check.done();
  return new CategoryRegistry(custom, listMap);
}

/** An http(s) URL without a query or fragment, returned without its trailing slash. */
function httpUrl(check: Checker, path: KeyPath, v: unknown): string | null {
  const example = 'https://schoolgate.school.example:8443';
  const u = check.url(path, v, example);
  if (u === undefined) return null;
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '') {
    return check.fail(path, `"${u.href}" must be an http:// or https:// address without ? or #`, `for example ${example}`) ?? null;
  }
  return u.href.replace(/\/$/, '');
}

/**
 * `redis: { url, prefix }`, or SCHOOLGATE_REDIS_URL (the Docker image sets it): where the alert
 * queue lives. Without either, alerts are delivered in-process from the outbox.
 */
function parseRedis(check: Checker, v: unknown): { url: string; prefix: string } | null {
  const env = process.env.SCHOOLGATE_REDIS_URL;
  const r = v === undefined ? {} : check.object(['redis'], v, ['url', 'prefix']) ?? {};
  const url = r.url === undefined ? env || undefined : check.url(['redis', 'url'], r.url, 'redis://127.0.0.1:6379')?.href;
  if (url === undefined) return null;
  if (!/^rediss?:/.test(url)) return check.fail(['redis', 'url'], `"${url}" is not a redis:// or rediss:// address`, 'for example redis://127.0.0.1:6379') ?? null;
  const prefix = r.prefix === undefined ? 'schoolgate' : check.string(['redis', 'prefix'], r.prefix, { pattern: /^[A-Za-z0-9:_-]{1,64}$/, patternHelp: 'letters, digits, colons, underscores and hyphens' }) ?? 'schoolgate';
  return { url, prefix };
}
