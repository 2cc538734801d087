// The `lists:` section: the list sources a school adds to the built-in self-test list, each
// checked with its line and fix, paths resolved against the configuration's folder.
import { resolve } from 'node:path';
import { CATEGORY_ID, ILLEGAL_CATEGORIES, type CategoryRegistry } from '../classify/categories.js';
import type { ListRole } from '../classify/lists.js';
import type { Checker } from '../config/check.js';
import { SOURCE_FORMATS, type ListSourceConfig, type Refresh, type SourceFormat } from '../config/types.js';
import type { KeyPath } from '../config/yaml.js';

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

/** `lists.sources`, in the order written; the self-test source is not among them. */
export function parseListSources(check: Checker, v: unknown, dir: string, categories: CategoryRegistry): ListSourceConfig[] {
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
