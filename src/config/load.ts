// Loads config/default.yaml (or the file given with --config) and the files it names,
// validates everything, and resolves paths. Every problem in every file is reported at once,
// each with file, line, key and fix; nothing half-valid is ever returned.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRedisConfig, type RedisConfig } from '../alerts/redis-config.js';
import { loadSafeguardingFile, type SafeguardingConfig } from '../alerts/taxonomy.js';
import { CATEGORY_ID, CategoryRegistry, type CategoryInfo } from '../classify/categories.js';
import { parseClassifierConfig, parsePhrasesConfig, type PhrasesConfig } from '../classify/config.js';
import { loadSearchEngines, type SearchEngineConfig } from '../classify/search-terms.js';
import { compilePolicy } from '../policy/compile.js';
import type { PolicySnapshot } from '../policy/types.js';
import { parseListSources } from '../lists/config.js';
import { parseProxyConfig, type ProxyConfig } from '../proxy/config.js';
import { parseTlsConfig, type TlsConfig } from '../tls/config.js';
import { parseAdminConfig, type AdminConfig } from '../admin/config.js';
import { parseLogConfig, parseRetentionConfig, type LogConfig, type RetentionConfig } from '../store/config.js';
import { Checker } from './check.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import type { ListSourceConfig } from './types.js';
import { YamlFile, type KeyPath } from './yaml.js';
import { keptFolder } from './kept.js';
import { readChecked, writeChecked } from '../classify/phrase-cache.js';

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
  readonly phrases: PhrasesConfig;
  readonly classifier: { readonly cacheSize: number };
  /** The compiled filtering policy (groups, levels, schedules, users); unblocks are added at run time. */
  readonly policy: PolicySnapshot;
  readonly proxy: ProxyConfig;
  readonly log: LogConfig;
  readonly retention: RetentionConfig;
  /** The safeguarding taxonomy, exclusions and recipients (`safeguarding:`, default the shipped config/safeguarding.yaml). */
  readonly safeguarding: SafeguardingConfig;
  /** Redis for the alert queue (BullMQ); null runs delivery in-process from the outbox. */
  readonly redis: RedisConfig | null;
  /** HTTPS inspection: which groups and sites are decrypted once the school's CA exists. */
  readonly tls: TlsConfig;
  /** The staff web app: where it listens, and the rules for unblock requests. */
  readonly admin: AdminConfig;
  /** Settings that still work but should be changed (deprecated key names), to tell the technician. */
  readonly warnings: readonly ConfigProblem[];
}


const TOP_KEYS = ['school', 'categories', 'lists', 'search', 'phrases', 'classifier', 'policy', 'proxy', 'log', 'retention', 'safeguarding', 'redis', 'tls', 'admin'];
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

  const sources = [SELFTEST_SOURCE, ...parseListSources(check, root.lists, dir, categories)];

  const searchEngines: SearchEngineConfig[] = [];
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

  const phrases = parsePhrasesConfig(check, root.phrases, dir, categories);
  problems.push(...phrases.problems);

  const classifier = parseClassifierConfig(check, root.classifier);

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

  const redis = parseRedisConfig(check, root.redis);
  const all = [...check.problems, ...problems];
  if (all.length > 0 || safeguarding === undefined) throw new ConfigError(all);
  return { file: path, text: yaml.text, school, categories, sources, searchEngines, phrases: phrases.config, classifier, policy, proxy, log, retention, safeguarding, redis, tls, admin, warnings: check.warnings };
}

function validTimezone(check: Checker, v: unknown): string | undefined {
  const tz = check.string(['school', 'timezone'], v);
  if (tz === undefined) return undefined;
  // Asking ICU about a zone loads its time zone data (tens of milliseconds of a command that
  // shows no time): a zone found good before, by this code and Node, is remembered in the kept folder.
  const kept = keptFolder();
  if (kept !== null && readChecked<boolean>(kept.dir, 'timezone', [tz]) === true) return tz;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    if (kept?.write) writeChecked(kept.dir, 'timezone', [tz], true);
    return tz;
  } catch {
    return check.fail(['school', 'timezone'], `"${tz}" is not a time zone`, 'use an IANA name such as Europe/London');
  }
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
