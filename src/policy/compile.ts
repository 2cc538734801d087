// Compiles the `policy:` section of the configuration into a PolicySnapshot, reporting every
// problem with file, line and fix: unknown categories or groups, windows that end before they
// start, contradictory overlapping schedules, and any attempt to allow illegal content.
import { ILLEGAL_CATEGORIES, type CategoryRegistry } from '../classify/categories.js';
import type { Checker } from '../config/check.js';
import type { KeyPath } from '../config/yaml.js';
import { parseSafeSearch, type SafeSearchSetting } from './safe-search.js';
import { ruleReach, SiteList, SiteListBuilder } from './site-list.js';
import { parseWindow, SchoolClock, type TimeWindow } from './time.js';
import type { Action, GroupMode, GroupPolicy, PolicySnapshot, Rule, RuleKind, ScheduleRule, Unblock, UserPolicy } from './types.js';

const ACTIONS: readonly Action[] = ['allow', 'block', 'warn'];
const GROUP_KEYS = ['label', 'mode', 'like', 'levels', 'default', 'uncategorised', 'sites', 'schedules', 'safeSearch'];
const SCHEDULE_KEYS = ['name', 'days', 'from', 'to', 'allow', 'block', 'warn'];
const GROUP_ID = /^[a-z][a-z0-9-]{0,31}$/;
const NO_SAFE_SEARCH: SafeSearchSetting = { engines: new Set(), youtube: 'strict' };

const VERB: Readonly<Record<Action, string>> = { allow: 'allowed', block: 'blocked', warn: 'warned (the person may continue)' };

interface Compiled {
  readonly group: GroupPolicy;
  /** What a group that is `like` this one starts from. */
  readonly raw: RawGroup;
}

/** A group's settings with the key path each came from, so inherited rules keep their own lines. */
interface RawGroup {
  mode?: { value: GroupMode; path: KeyPath };
  levels: Map<string, { action: Action; path: KeyPath }>;
  other?: { action: Action; path: KeyPath };
  uncategorised?: { action: Action; path: KeyPath };
  sites: { text: string; action: Action; path: KeyPath }[];
  schedules: { value: Record<string, unknown>; path: KeyPath }[];
  safeSearch?: { value: SafeSearchSetting };
}

const SITE_FIX = 'write a host (example.com) or a host and path (example.com/topic)';

/** Adds a site entry; an invalid one, or one already listed with another action, is a problem. */
function addSite(check: Checker, sites: SiteListBuilder<Rule>, text: string, r: Rule, path: KeyPath, fix = SITE_FIX): void {
  const added = sites.add(text, r);
  if ('error' in added) {
    check.fail(path, added.error, fix);
    return;
  }
  const other = added.previous.find((p) => p.action !== r.action);
  if (other) check.fail(path, `${text} is listed to ${r.action} and, on line ${other.line}, to ${other.action}`, 'keep one of them');
}

export function compilePolicy(check: Checker, value: unknown, categories: CategoryRegistry, timeZone: string): PolicySnapshot {
  const file = check.yaml.file;
  const root = value === undefined ? {} : check.object(['policy'], value, ['groups', 'users', 'sltApproval', 'seniorLeaderApproval', 'warnRememberMinutes']) ?? {};
  const rule = (kind: RuleKind, action: Action, text: string, path: KeyPath): Rule => ({ kind, action, text, file, line: check.yaml.lineOf(path) });

  const category = (path: KeyPath, id: unknown, action?: Action): string | undefined => {
    const c = check.string(path, id);
    if (c === undefined) return undefined;
    if (!categories.has(c)) return check.fail(path, `unknown category "${c}"`, 'use a category id from README.md, "Categories", or the category map');
    if (action !== undefined && action !== 'block' && ILLEGAL_CATEGORIES.has(c)) {
      return check.fail(path, `illegal is not a setting: ${c} cannot be ${VERB[action]}; it is blocked for every group`, `remove ${c} here`);
    }
    return c;
  };
  const action = (path: KeyPath, v: unknown): Action | undefined => check.string(path, v, { oneOf: ACTIONS }) as Action | undefined;

  // --- groups, bases before the groups that are `like` them ---
  const rawGroups = root.groups === undefined ? {} : check.object(['policy', 'groups'], root.groups) ?? {};
  const compiled = new Map<string, Compiled>();
  const visiting = new Set<string>();
  const compileGroup = (id: string): Compiled | undefined => {
    const done = compiled.get(id);
    if (done) return done;
    const at: KeyPath = ['policy', 'groups', id];
    if (visiting.has(id)) return check.fail([...at, 'like'], `groups are "like" each other in a circle (${[...visiting, id].join(' -> ')})`, 'let one of them stand on its own');
    const g = check.object(at, rawGroups[id], GROUP_KEYS);
    if (!g) return undefined;
    visiting.add(id);
    let base: RawGroup = { levels: new Map(), sites: [], schedules: [] };
    if (g.like !== undefined) {
      const like = check.string([...at, 'like'], g.like);
      if (like !== undefined && !(like in rawGroups)) check.fail([...at, 'like'], `unknown group "${like}"`, `use one of: ${Object.keys(rawGroups).join(', ')}`);
      else if (like !== undefined) base = compileGroup(like)?.raw ?? base;
    }
    visiting.delete(id);
    const raw: RawGroup = { ...base, levels: new Map(base.levels), sites: [...base.sites], schedules: [...base.schedules] };
    if (g.mode !== undefined) {
      const m = check.string([...at, 'mode'], g.mode, { oneOf: ['filter', 'allowlist'] });
      if (m !== undefined) raw.mode = { value: m as GroupMode, path: [...at, 'mode'] };
    }
    if (g.levels !== undefined) {
      for (const [cat, v] of Object.entries(check.object([...at, 'levels'], g.levels) ?? {})) {
        const a = action([...at, 'levels', cat], v);
        if (a !== undefined && category([...at, 'levels', cat], cat, a) !== undefined) raw.levels.set(cat, { action: a, path: [...at, 'levels', cat] });
      }
    }
    for (const key of ['default', 'uncategorised'] as const) {
      if (g[key] === undefined) continue;
      const a = action([...at, key], g[key]);
      if (a !== undefined) raw[key === 'default' ? 'other' : 'uncategorised'] = { action: a, path: [...at, key] };
    }
    if (g.sites !== undefined) raw.sites.push(...siteEntries(check, [...at, 'sites'], g.sites));
    if (g.schedules !== undefined) {
      (check.array([...at, 'schedules'], g.schedules) ?? []).forEach((s, i) => {
        const obj = check.object([...at, 'schedules', i], s, SCHEDULE_KEYS);
        if (obj) raw.schedules.push({ value: obj, path: [...at, 'schedules', i] });
      });
    }
    if (g.safeSearch !== undefined) {
      const ss = parseSafeSearch(g.safeSearch);
      if ('error' in ss) check.fail([...at, 'safeSearch'], ss.error, ss.fix);
      else raw.safeSearch = { value: ss };
    }
    const group = buildGroup(id, g.label, raw);
    const result = { group, raw };
    compiled.set(id, result);
    return result;
  };

  function buildGroup(id: string, label: unknown, raw: RawGroup): GroupPolicy {
    const name = typeof label === 'string' && label !== '' ? label : id;
    const mode = raw.mode?.value ?? 'filter';
    const levels = new Map<string, Rule>();
    for (const [cat, l] of raw.levels) levels.set(cat, rule('level', l.action, `${name} filter level: ${cat} is ${VERB[l.action]}`, l.path));
    const fallback: Action = mode === 'allowlist' ? 'block' : 'allow';
    const modeText = mode === 'allowlist' ? `${name} is allow-list only` : `${name} filters by category`;
    const other = raw.other
      ? rule('default', raw.other.action, `${name}: categories its filter level does not name are ${VERB[raw.other.action]}`, raw.other.path)
      : rule('default', fallback, `${modeText}: categories its filter level does not name are ${VERB[fallback]}`, raw.mode?.path ?? ['policy', 'groups', id]);
    const uncategorised = raw.uncategorised
      ? rule('default', raw.uncategorised.action, `${name}: sites in no category are ${VERB[raw.uncategorised.action]}`, raw.uncategorised.path)
      : rule('default', fallback, `${modeText}: sites in no category are ${VERB[fallback]}`, raw.mode?.path ?? ['policy', 'groups', id]);
    const sites = new SiteListBuilder<Rule>(ruleReach);
    for (const s of raw.sites) addSite(check, sites, s.text, rule('site-list', s.action, `${s.text} is on ${name}'s ${s.action} list`, s.path), s.path);
    const built = raw.schedules.map((s) => ({ path: s.path, schedule: buildSchedule(name, s.value, s.path) }));
    const ok = built.filter((b): b is { path: KeyPath; schedule: BuiltSchedule } => b.schedule !== undefined);
    contradictions(ok.map((b) => b.schedule), ok.map((b) => b.path));
    const schedules: ScheduleRule[] = ok.map((b) => b.schedule.rule);
    return { id, label: name, mode, levels, otherCategories: other, uncategorised, schedules, sites: sites.build(), safeSearch: raw.safeSearch?.value ?? NO_SAFE_SEARCH };
  }

  interface BuiltSchedule {
    readonly rule: ScheduleRule;
    /** The sites as written, to compare overlapping schedules. */
    readonly siteTexts: readonly { text: string; rule: Rule }[];
  }

  function buildSchedule(groupName: string, s: Record<string, unknown>, at: KeyPath): BuiltSchedule | undefined {
    const name = s.name === undefined ? 'schedule' : check.string([...at, 'name'], s.name) ?? 'schedule';
    const days = check.string([...at, 'days'], s.days);
    const from = check.string([...at, 'from'], s.from);
    const to = check.string([...at, 'to'], s.to);
    if (days === undefined || from === undefined || to === undefined) return undefined;
    const w = parseWindow(days, from, to);
    if ('error' in w) return check.fail([...at, w.field ?? 'days'], w.error, w.fix);
    if (w.to <= w.from) return check.fail([...at, 'to'], `the window ends (${to}) before it starts (${from})`, 'split a window that runs past midnight into two, one each side of it');
    const cats = new Map<string, Rule>();
    const sites = new SiteListBuilder<Rule>(ruleReach);
    const siteTexts: { text: string; rule: Rule }[] = [];
    for (const a of ACTIONS) {
      if (s[a] === undefined) continue;
      (check.array([...at, a], s[a]) ?? []).forEach((item, i) => {
        const path = [...at, a, i];
        const text = check.string(path, item);
        if (text === undefined) return;
        const r = rule('schedule', a, `schedule "${name}" (${w.text}): ${text} ${VERB[a]} for ${groupName}`, path);
        if (text.includes('.') || text.includes('/')) {
          addSite(check, sites, text, r, path, 'write a category id, a host (example.com) or a host and path');
          siteTexts.push({ text, rule: r });
        } else if (category(path, text, a) !== undefined) {
          const before = cats.get(text);
          if (before && before.action !== a) check.fail(path, `${text} is listed to ${a} and, on line ${before.line}, to ${before.action}`, 'keep one of them');
          cats.set(text, r);
        }
      });
    }
    return { rule: { name, window: w, categories: cats, sites: sites.build() }, siteTexts };
  }

  /** Two open windows that set one category or site to different actions: which wins is anyone's guess. */
  function contradictions(built: readonly BuiltSchedule[], paths: readonly KeyPath[]): void {
    const fix = 'change the times or days so they do not overlap, or make them agree';
    for (let i = 0; i < built.length; i++) {
      for (let j = i + 1; j < built.length; j++) {
        const a = built[i]!.rule;
        const b = built[j]!.rule;
        if ((a.window.days & b.window.days) === 0 || a.window.to <= b.window.from || b.window.to <= a.window.from) continue;
        for (const [cat, ra] of a.categories) {
          const rb = b.categories.get(cat);
          if (rb && rb.action !== ra.action) check.fail(paths[j]!, `schedules "${a.name}" (line ${ra.line}) and "${b.name}" overlap and set ${cat} to ${ra.action} and ${rb.action}`, fix);
        }
        const both = new SiteListBuilder<Rule>();
        for (const s of built[i]!.siteTexts) both.add(s.text, s.rule);
        for (const s of built[j]!.siteTexts) {
          const added = both.add(s.text, s.rule);
          const other = 'previous' in added ? added.previous.find((p) => p.action !== s.rule.action) : undefined;
          if (other) check.fail(paths[j]!, `schedules "${a.name}" (line ${other.line}) and "${b.name}" overlap and set ${s.text} to ${other.action} and ${s.rule.action}`, fix);
        }
      }
    }
  }

  for (const id of Object.keys(rawGroups)) {
    if (!GROUP_ID.test(id)) check.fail(['policy', 'groups', id], `"${id}" is not a valid group id`, 'use lower-case letters, digits and hyphens, starting with a letter');
    else compileGroup(id);
  }
  const groups = new Map<string, GroupPolicy>();
  for (const [id, c] of compiled) groups.set(id, c.group);

  // --- nominated users ---
  const users = new Map<string, UserPolicy>();
  const rawUsers = root.users === undefined ? {} : check.object(['policy', 'users'], root.users) ?? {};
  for (const [id, v] of Object.entries(rawUsers)) {
    const at: KeyPath = ['policy', 'users', id];
    const u = check.object(at, v, ['levels', 'sites']);
    if (!u) continue;
    const levels = new Map<string, Rule>();
    for (const [cat, a] of Object.entries(u.levels === undefined ? {} : check.object([...at, 'levels'], u.levels) ?? {})) {
      const act = action([...at, 'levels', cat], a);
      if (act !== undefined && category([...at, 'levels', cat], cat, act) !== undefined) {
        levels.set(cat, rule('user', act, `nominated user ${id}: ${cat} is ${VERB[act]}`, [...at, 'levels', cat]));
      }
    }
    const sites = new SiteListBuilder<Rule>(ruleReach);
    if (u.sites !== undefined) {
      for (const s of siteEntries(check, [...at, 'sites'], u.sites)) {
        addSite(check, sites, s.text, rule('user', s.action, `nominated user ${id}: ${s.text} is ${VERB[s.action]}`, s.path), s.path);
      }
    }
    users.set(id, { id, levels, sites: sites.build() });
  }

  // seniorLeaderApproval was this key's name until the approvers were named by their staff-app
  // roles; schools' files still say it, so it is read with a warning.
  const sltKey = check.renamed(['policy'], root, 'seniorLeaderApproval', 'sltApproval');
  const slt = new Set<string>();
  if (sltKey !== undefined) {
    (check.array(['policy', sltKey], root[sltKey]) ?? []).forEach((c, i) => {
      const id = category(['policy', sltKey, i], c);
      if (id !== undefined) slt.add(id);
    });
  }

  const warnRememberMinutes = root.warnRememberMinutes === undefined ? 60
    : check.number(['policy', 'warnRememberMinutes'], root.warnRememberMinutes, { min: 0, max: 7 * 24 * 60, integer: true }) ?? 60;

  return { file, clock: new SchoolClock(timeZone), groups, users, sltCategories: slt, warnRememberMs: warnRememberMinutes * 60_000, unblocks: SiteList.empty() };
}

function siteEntries(check: Checker, at: KeyPath, v: unknown): { text: string; action: Action; path: KeyPath }[] {
  const out: { text: string; action: Action; path: KeyPath }[] = [];
  const obj = check.object(at, v, ACTIONS);
  if (!obj) return out;
  for (const a of ACTIONS) {
    if (obj[a] === undefined) continue;
    (check.array([...at, a], obj[a]) ?? []).forEach((item, i) => {
      const text = check.string([...at, a, i], item);
      if (text !== undefined) out.push({ text, action: a, path: [...at, a, i] });
    });
  }
  return out;
}

/** The snapshot with these unblocks in force (expired ones are harmless: decide checks the time). */
export function withUnblocks(p: PolicySnapshot, unblocks: readonly Unblock[]): PolicySnapshot {
  const list = new SiteListBuilder<Unblock>();
  for (const u of unblocks) {
    const from = u.from.getTime();
    const until = u.until.getTime();
    if (!Number.isFinite(from) || !Number.isFinite(until) || from >= until) {
      throw new RangeError(`unblock ${u.id}: it must start before it ends (from ${String(u.from)}, until ${String(u.until)})`);
    }
    const added = list.add(u.site, u);
    if ('error' in added) throw new RangeError(`unblock ${u.id}: ${added.error}`);
  }
  return { ...p, unblocks: list.build() };
}

/** The policy with these unblocks laid over it; each is checked on its own, and one that cannot be applied is left out (and reported), never the rest. */
export function applyUnblocks(policy: PolicySnapshot, unblocks: readonly Unblock[], leftOut?: (u: Unblock, err: unknown) => void): PolicySnapshot {
  const valid = unblocks.filter((u) => {
    try {
      withUnblocks(policy, [u]);
      return true;
    } catch (err) {
      leftOut?.(u, err);
      return false;
    }
  });
  return withUnblocks(policy, valid);
}
