// The safeguarding taxonomy: the concerns a DSL is told about (suicide, grooming, …), which
// classifier categories and phrase lists raise each, how serious each kind of trigger is, and
// which severities are sent at once rather than in the digest. Read from config/safeguarding.yaml
// (the main config's `safeguarding:` key names it), with every problem reported with file, line,
// key and fix.
//
// Illegal is not a setting: an attempt on the IWF list always raises child-sexual-abuse and one
// on the terrorism list always raises terrorism, at danger, sent at once; a file that tries
// otherwise is refused.
import { dirname } from 'node:path';
import { ILLEGAL_CATEGORIES, type CategoryRegistry } from '../classify/categories.js';
import { PHRASE_CATEGORIES } from '../classify/phrases.js';
import { Checker } from '../config/check.js';
import { YamlFile, type KeyPath } from '../config/yaml.js';
import { DEFAULT_DIGESTS, parseDigestSchedule, type DigestSchedule } from './digests.js';
import { EXCLUSION_KINDS, exclusionProblem, type Exclusion, type ExclusionKind } from './exclusions.js';
import { NO_RECIPIENTS, parseEmail, parseRecipients, type Recipients, type SmtpSettings } from './recipients.js';

export const SAFEGUARDING_CATEGORIES = [
  'suicide', 'self-harm', 'radicalisation-extremism', 'terrorism', 'child-sexual-abuse', 'grooming-sexual-exploitation',
  'bullying', 'adult-content', 'substance-misuse', 'violence-weapons', 'criminal-activity',
] as const;
export type SafeguardingCategoryId = (typeof SAFEGUARDING_CATEGORIES)[number];

const LABELS: Readonly<Record<SafeguardingCategoryId, string>> = {
  suicide: 'Suicide',
  'self-harm': 'Self-harm and eating disorders',
  'radicalisation-extremism': 'Radicalisation and extremism',
  terrorism: 'Terrorist content',
  'child-sexual-abuse': 'Child sexual abuse content',
  'grooming-sexual-exploitation': 'Grooming and sexual exploitation',
  bullying: 'Bullying',
  'adult-content': 'Adult content',
  'substance-misuse': 'Substance misuse',
  'violence-weapons': 'Violence and weapons',
  'criminal-activity': 'Criminal activity',
};

/** Least serious first. */
export const SEVERITIES = ['advisory', 'caution', 'danger'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { advisory: 0, caution: 1, danger: 2 };

export function higherSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

export function lowerSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[b] < SEVERITY_RANK[a] ? b : a;
}

/** What raised a trigger: a list entry, or phrases in the search term, the address or the page's text. */
export const TRIGGER_SOURCES = ['list', 'search', 'url', 'page'] as const;
export type TriggerSource = (typeof TRIGGER_SOURCES)[number];

/** Each illegal list category and the safeguarding category its attempts always raise. */
export const ILLEGAL_RAISES: Readonly<Record<string, SafeguardingCategoryId>> = { iwf: 'child-sexual-abuse', terrorism: 'terrorism' };

export interface SafeguardingCategory {
  readonly id: SafeguardingCategoryId;
  readonly label: string;
  /** Classifier categories whose list entries raise this (adult, drugs, iwf, …). */
  readonly listCategories: readonly string[];
  /** Lists, by name ("ut1/hacking"), that raise this whatever their category. */
  readonly listNames: readonly string[];
  /** Phrase categories (config/phrases/*.yaml) that raise this when flagged. */
  readonly phraseCategories: readonly string[];
  /** The severity of each kind of trigger (illegal-list attempts are danger whatever this says). */
  readonly severity: Readonly<Record<TriggerSource, Severity>>;
  /** Severities sent at once; the others wait for the digest. */
  readonly immediate: ReadonlySet<Severity>;
  /** It holds an illegal list category: its list triggers are always danger and never excluded. */
  readonly illegal: boolean;
}

export interface SafeguardingConfig {
  /** The file it was read from; null for the built-in minimum (illegal categories only). */
  readonly file: string | null;
  readonly categories: ReadonlyMap<SafeguardingCategoryId, SafeguardingCategory>;
  readonly byListCategory: ReadonlyMap<string, SafeguardingCategory>;
  readonly byListName: ReadonlyMap<string, SafeguardingCategory>;
  readonly byPhraseCategory: ReadonlyMap<string, SafeguardingCategory>;
  /** Alerts for one person and category this close together fold into one. */
  readonly foldWindowMs: number;
  readonly exclusions: readonly Exclusion[];
  readonly recipients: Recipients;
  readonly email: SmtpSettings | null;
  /** When the daily and weekly digests go (school time). */
  readonly digests: DigestSchedule;
}

const TOP_KEYS = ['foldWindowMinutes', 'categories', 'exclusions', 'recipients', 'email', 'digests'];
const CATEGORY_KEYS = ['label', 'lists', 'phrases', 'severity', 'immediate'];
const LIST_NAME = /^[a-z0-9][a-z0-9-]*\/[^\s/]+$/;
const DEFAULT_SEVERITY: Severity = 'caution';
export const DEFAULT_FOLD_WINDOW_MINUTES = 10;

/** Reads and validates a safeguarding file; throws ConfigError with every problem. */
export function loadSafeguardingFile(file: string, categories: CategoryRegistry, groups?: ReadonlySet<string>): SafeguardingConfig {
  const yaml = YamlFile.read(file);
  const check = new Checker(yaml);
  const cfg = parseSafeguardingConfig(check, yaml.value, categories, groups);
  check.done();
  return cfg;
}

/**
 * Validates the safeguarding file's value (its top level), reporting problems through `check`
 * and returning what could be read. Secret files are resolved beside the checked file.
 */
export function parseSafeguardingConfig(check: Checker, value: unknown, categories: CategoryRegistry, groups?: ReadonlySet<string>): SafeguardingConfig {
  const root = value === undefined || value === null ? {} : check.object([], value, TOP_KEYS) ?? {};
  const dir = dirname(check.yaml.file);
  const minutes = root.foldWindowMinutes === undefined
    ? DEFAULT_FOLD_WINDOW_MINUTES
    : check.number(['foldWindowMinutes'], root.foldWindowMinutes, { min: 1, max: 1440 }) ?? DEFAULT_FOLD_WINDOW_MINUTES;

  const built = new Map<SafeguardingCategoryId, SafeguardingCategory>();
  const owners = { list: new Map<string, Owner>(), name: new Map<string, Owner>(), phrase: new Map<string, Owner>() };
  const written = root.categories === undefined ? {} : check.object(['categories'], root.categories) ?? {};
  for (const [id, v] of Object.entries(written)) {
    if (!(SAFEGUARDING_CATEGORIES as readonly string[]).includes(id)) {
      check.fail(['categories', id], `unknown safeguarding category "${id}"`, `use one of: ${SAFEGUARDING_CATEGORIES.join(', ')}`);
      continue;
    }
    const c = parseCategory(check, id as SafeguardingCategoryId, v, categories, owners);
    if (c) built.set(c.id, c);
  }
  // The illegal categories are always there: built in when the file leaves them out.
  for (const [list, id] of Object.entries(ILLEGAL_RAISES)) {
    if (!(id in written)) built.set(id, illegalDefault(id, list));
    else if (built.get(id)?.listCategories.includes(list) === false) {
      check.fail(['categories', id, 'lists'], `illegal is not a setting: ${id} must list "${list}"`, `add ${list} to its lists`);
    }
  }

  const ordered = new Map(SAFEGUARDING_CATEGORIES.filter((id) => built.has(id)).map((id) => [id, built.get(id)!]));
  const index = (pick: (c: SafeguardingCategory) => readonly string[]): Map<string, SafeguardingCategory> =>
    new Map([...ordered.values()].flatMap((c) => pick(c).map((k) => [k, c] as const)));
  return {
    file: check.yaml.file,
    categories: ordered,
    byListCategory: index((c) => c.listCategories),
    byListName: index((c) => c.listNames),
    byPhraseCategory: index((c) => c.phraseCategories),
    foldWindowMs: minutes * 60_000,
    exclusions: parseExclusions(check, root.exclusions, groups),
    recipients: parseRecipients(check, root.recipients, dir),
    email: parseEmail(check, root.email, dir),
    digests: parseDigestSchedule(check, root.digests),
  };
}

/** The built-in minimum when no safeguarding file is configured: illegal-list attempts only. */
export function minimalSafeguardingConfig(): SafeguardingConfig {
  const categories = new Map(Object.entries(ILLEGAL_RAISES).map(([list, id]) => [id, illegalDefault(id, list)] as const));
  return {
    file: null, categories,
    byListCategory: new Map([...categories.values()].map((c) => [c.listCategories[0]!, c])),
    byListName: new Map(), byPhraseCategory: new Map(),
    foldWindowMs: DEFAULT_FOLD_WINDOW_MINUTES * 60_000, exclusions: [], recipients: NO_RECIPIENTS, email: null, digests: DEFAULT_DIGESTS,
  };
}

function illegalDefault(id: SafeguardingCategoryId, list: string): SafeguardingCategory {
  return {
    id, label: LABELS[id], listCategories: [list], listNames: [], phraseCategories: [],
    severity: { list: 'danger', search: 'danger', url: 'danger', page: 'danger' }, immediate: new Set(['danger']), illegal: true,
  };
}

interface Owner {
  readonly id: SafeguardingCategoryId;
  readonly line: number;
}

function parseCategory(
  check: Checker, id: SafeguardingCategoryId, v: unknown, registry: CategoryRegistry,
  owners: Readonly<Record<'list' | 'name' | 'phrase', Map<string, Owner>>>,
): SafeguardingCategory | undefined {
  const at: KeyPath = ['categories', id];
  const c = check.object(at, v ?? {}, CATEGORY_KEYS);
  if (!c) return undefined;
  const label = c.label === undefined ? LABELS[id] : check.string([...at, 'label'], c.label) ?? LABELS[id];

  // One owner per list category, list name and phrase category: each raises one concern.
  const claim = (kind: 'list' | 'name' | 'phrase', key: string, path: KeyPath): boolean => {
    const before = owners[kind].get(key);
    if (before) {
      check.fail(path, `"${key}" already raises ${before.id} (line ${before.line})`, 'list it under one safeguarding category only');
      return false;
    }
    owners[kind].set(key, { id, line: check.yaml.lineOf(path) });
    return true;
  };
  const listCategories: string[] = [];
  const listNames: string[] = [];
  strings(check, [...at, 'lists'], c.lists).forEach(([name, path]) => {
    if (name.includes('/')) {
      if (!LIST_NAME.test(name)) check.fail(path, `"${name}" is not a list name`, 'write a list as source/list, e.g. ut1/hacking');
      else if (claim('name', name, path)) listNames.push(name);
      return;
    }
    if (!registry.has(name)) {
      check.fail(path, `unknown category "${name}"`, 'use a category id from the category map, or a list name such as ut1/hacking');
      return;
    }
    const raises = ILLEGAL_RAISES[name];
    if (raises !== undefined && raises !== id) {
      check.fail(path, `illegal is not a setting: "${name}" attempts always raise ${raises}`, `remove ${name} from ${id}`);
      return;
    }
    if (claim('list', name, path)) listCategories.push(name);
  });
  const phraseCategories: string[] = [];
  strings(check, [...at, 'phrases'], c.phrases).forEach(([name, path]) => {
    if (!(PHRASE_CATEGORIES as readonly string[]).includes(name)) check.fail(path, `unknown phrase category "${name}"`, `use one of: ${PHRASE_CATEGORIES.join(', ')}`);
    else if (claim('phrase', name, path)) phraseCategories.push(name);
  });
  const illegal = Object.values(ILLEGAL_RAISES).includes(id) || listCategories.some((l) => ILLEGAL_CATEGORIES.has(l));

  const severity = parseSeverity(check, [...at, 'severity'], c.severity, illegal ? 'danger' : DEFAULT_SEVERITY);
  if (illegal && severity.list !== 'danger') {
    check.fail([...at, 'severity'], 'illegal is not a setting: attempts on an illegal list are always danger', 'remove the list severity or set it to danger');
  }
  const immediate = new Set<Severity>();
  if (c.immediate === undefined) immediate.add('danger');
  else {
    strings(check, [...at, 'immediate'], c.immediate).forEach(([s, path]) => {
      if (check.string(path, s, { oneOf: SEVERITIES }) !== undefined) immediate.add(s as Severity);
    });
  }
  if (illegal && !immediate.has('danger')) {
    check.fail([...at, 'immediate'], 'illegal is not a setting: danger alerts for illegal content are always sent at once', 'add danger to immediate');
  }
  return { id, label, listCategories, listNames, phraseCategories, severity: { ...severity, ...(illegal ? { list: 'danger' } : {}) }, immediate, illegal };
}

/** A severity for every trigger kind ("severity: danger"), or per kind ({list: advisory, search: danger}); `fallback` where unsaid. */
function parseSeverity(check: Checker, at: KeyPath, v: unknown, fallback: Severity): Record<TriggerSource, Severity> {
  const out: Record<TriggerSource, Severity> = { list: fallback, search: fallback, url: fallback, page: fallback };
  if (v === undefined) return out;
  if (typeof v === 'string') {
    const s = check.string(at, v, { oneOf: SEVERITIES }) as Severity | undefined;
    return s === undefined ? out : { list: s, search: s, url: s, page: s };
  }
  const map = check.object(at, v, TRIGGER_SOURCES) ?? {};
  for (const kind of TRIGGER_SOURCES) {
    if (map[kind] === undefined) continue;
    const s = check.string([...at, kind], map[kind], { oneOf: SEVERITIES }) as Severity | undefined;
    if (s !== undefined) out[kind] = s;
  }
  // A page says as much as a search does: unless told otherwise, it may go as high.
  if (map.page === undefined) out.page = out.search;
  return out;
}

/** A list of text values, each with its key path; problems reported, bad items left out. */
function strings(check: Checker, at: KeyPath, v: unknown): [string, KeyPath][] {
  if (v === undefined) return [];
  const out: [string, KeyPath][] = [];
  (check.array(at, v) ?? []).forEach((item, i) => {
    const s = check.string([...at, i], item);
    if (s !== undefined) out.push([s, [...at, i]]);
  });
  return out;
}

function parseExclusions(check: Checker, v: unknown, groups: ReadonlySet<string> | undefined): Exclusion[] {
  if (v === undefined) return [];
  const out: Exclusion[] = [];
  (check.array(['exclusions'], v) ?? []).forEach((item, i) => {
    const at: KeyPath = ['exclusions', i];
    const e = check.object(at, item, [...EXCLUSION_KINDS, 'group', 'reason']);
    if (!e) return;
    const kinds = EXCLUSION_KINDS.filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) {
      check.fail(at, kinds.length === 0 ? 'an exclusion needs "term", "site" or "url"' : `an exclusion has one of ${kinds.join(', ')}, not several`, 'write one exclusion per line, e.g. { term: isis, group: ks2 }');
      return;
    }
    const kind: ExclusionKind = kinds[0]!;
    const value = check.string([...at, kind], e[kind]);
    const group = e.group === undefined ? undefined : check.string([...at, 'group'], e.group);
    if (group !== undefined && groups !== undefined && groups.size > 0 && !groups.has(group)) {
      check.fail([...at, 'group'], `unknown group "${group}"`, `use one of: ${[...groups].join(', ')}`);
      return;
    }
    const reason = e.reason === undefined ? undefined : check.string([...at, 'reason'], e.reason);
    if (value === undefined) return;
    const problem = exclusionProblem({ kind, value });
    if (problem) {
      check.fail([...at, kind], problem.message, problem.fix);
      return;
    }
    out.push({ kind, value, ...(group !== undefined ? { group } : {}), ...(reason !== undefined ? { reason } : {}) });
  });
  return out;
}
