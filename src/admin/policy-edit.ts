// Technicians' changes to filter levels, made where every other policy change is made: in the
// configuration file. The file is the source of truth: the app rewrites only the lines of the
// `policy:` keys it changes (every other byte kept: config/yaml-edit.ts), checks the whole file
// with the same loader as `policy check`, swaps it in, and reloads; a hand edit plus `lists
// reload` is picked up the same way. So the two can never disagree, and every version (from
// either, each recorded as whose it is) is kept for rollback.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isAlias, isMap, parseDocument, type Document } from 'yaml';
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import { ConfigError, formatProblem } from '../config/errors.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';
import { editYaml } from '../config/yaml-edit.js';
import type { Action, PolicySnapshot } from '../policy/types.js';
import type { Database } from 'better-sqlite3';
import { processActor } from '../store/audit.js';
import { claimPolicyVersion, dropPolicyClaim, recordPolicyVersion } from '../store/policy-versions.js';
import { AdminError } from './errors.js';

export interface LevelChange {
  readonly group: string;
  readonly category: string;
  readonly action: Action;
}

/** The group's effective action for a category, before schedules: its level, or the default for categories it does not name. */
export function levelOf(policy: PolicySnapshot, group: string, category: string): Action {
  const g = policy.groups.get(group);
  if (!g) throw new RangeError(`unknown group ${group}`);
  return g.levels.get(category)?.action ?? g.otherCategories.action;
}

/** The configuration text with these levels set under policy.groups.<group>.levels. */
export function withLevels(text: string, changes: readonly LevelChange[]): string {
  return editYaml(text, (doc) => {
    for (const c of changes) refuseAlias(doc, c.group);
    for (const c of changes) {
      if (ILLEGAL_CATEGORIES.has(c.category)) throw new AdminError('illegal', `${c.category} is illegal content: it is blocked for everyone and cannot be changed.`, `${c.group}.${c.category}`);
      const groups = doc.getIn(['policy', 'groups']);
      if (!isMap(groups) || !groups.has(c.group)) throw new AdminError('invalid', `There is no group "${c.group}" in the configuration.`, c.group);
      if (!isMap(doc.getIn(['policy', 'groups', c.group, 'levels']))) doc.setIn(['policy', 'groups', c.group, 'levels'], doc.createNode({}));
      doc.setIn(['policy', 'groups', c.group, 'levels', c.category], c.action);
    }
  });
}

/** A group written as a YAML alias (*base) shares its node with another: changing one would change both. */
function refuseAlias(doc: Document, group: string): void {
  const node = doc.getIn(['policy', 'groups', group], true);
  if (isAlias(node)) throw new AdminError('invalid', `The group "${group}" is written as a YAML alias in the configuration file; change it there (or write it out in full) instead.`, group);
}

/** Loads a candidate configuration text exactly as Schoolgate would, beside the real file (relative paths resolve the same). */
export function checkConfigText(file: string, text: string): SchoolgateConfig {
  const candidate = join(dirname(file), `.schoolgate-candidate-${process.pid}-${Date.now()}.yaml`);
  writeFileSync(candidate, text, { mode: 0o600 });
  try {
    return loadConfig(candidate);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new AdminError('invalid', `The change was not saved: ${err.problems.map((p) => formatProblem({ ...p, file: p.file === candidate ? file : p.file })).join('; ')}`);
    }
    throw err;
  } finally {
    rmSync(candidate, { force: true });
  }
}

/**
 * Writes the configuration file in one step (a reader sees the old text or the new, never half),
 * to the file a symlink points at, keeping its permissions, and on disk before it is swapped in.
 */
export function writeConfigText(file: string, text: string): void {
  const target = realpathSync(file);
  const mode = statSync(target).mode & 0o777;
  const next = `${target}.${process.pid}.new`;
  const fd = openSync(next, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(next, target);
}

/** The version a form was made from: a change is refused if the file has moved on since. */
export function versionOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * How the running Schoolgate takes a configuration changed in the app: the file is replaced, the
 * version recorded with who and why, and the configuration reloaded (lists, policy, everything).
 */
export type ConfigApplier = (text: string, reason: string, actor: string, base: string) => Promise<void>;

export function configApplier(service: { readonly config: SchoolgateConfig; reload(reason: string): Promise<boolean> }, db: Database): ConfigApplier {
  // One change at a time: each is checked against the file as the one before left it.
  let queue: Promise<unknown> = Promise.resolve();
  return (text, reason, actor, base) => {
    const run = queue.then(async () => {
      const file = service.config.file;
      const current = readFileSync(file, 'utf8');
      if (current !== service.config.text) throw new AdminError('conflict', `${file} was edited by hand and not loaded yet: run "npx schoolgate lists reload", then make the change again.`);
      if (versionOf(current) !== base) throw new AdminError('conflict', 'The configuration changed since this page was opened (someone else saved meanwhile). Open the page again and make the change on the new version.');
      // Whichever load swaps this text in records it (the composition root records every
      // configuration a reload loads): the claim tells it who and why.
      const claim = claimPolicyVersion(db, { text, actor, reason });
      try {
        writeConfigText(file, text);
        if (!(await service.reload(`changed by ${actor} in the staff app`))) {
          // The running policy is still the old one: so is the file again, and no version is recorded.
          writeConfigText(file, current);
          throw new AdminError('invalid', 'The change was checked but did not load, so it was undone and the previous configuration stays in force. The log says why.');
        }
        if (service.config.text !== text) {
          throw new AdminError('conflict', `${file} was edited on the server while this change was being saved, and that edit is in force now (recorded as edited on the server). Open the page again and check it.`);
        }
        // Recorded already by the reload where the composition root listens; here for where it does not.
        recordPolicyVersion(db, { file, text, actor: processActor() });
      } finally {
        dropPolicyClaim(db, claim);
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
}

/** What a change means for people, in their words: "KS2 pupils will now be able to reach: games". */
export function describeChange(before: PolicySnapshot, after: PolicySnapshot, categories: readonly string[]): string[] {
  const lines: string[] = [];
  for (const [id, g] of after.groups) {
    if (!before.groups.has(id)) {
      lines.push(`${g.label}: a new group`);
      continue;
    }
    const moved: Record<string, string[]> = {};
    for (const c of categories) {
      const was = levelOf(before, id, c);
      const now = levelOf(after, id, c);
      if (was === now) continue;
      const key = now === 'allow' ? 'will now be able to reach' : now === 'warn' ? (was === 'block' ? 'will now be warned (and may continue) about' : 'will now be warned before') : 'will no longer be able to reach';
      (moved[key] ??= []).push(c);
    }
    for (const [what, cats] of Object.entries(moved)) lines.push(`${g.label} ${what}: ${cats.join(', ')}`);
  }
  for (const [id, g] of before.groups) if (!after.groups.has(id)) lines.push(`${g.label}: removed`);
  return lines;
}

/** A group's own settings as the technician edits them (the YAML keys of policy.groups.<id>). */
export interface GroupSettings {
  readonly sites: { readonly allow: readonly string[]; readonly warn: readonly string[]; readonly block: readonly string[] };
  /** false, true (every engine), or a list of engines (as `safeSearch:` takes them). */
  readonly safeSearch: boolean | readonly (string | { readonly youtube: string })[];
  readonly schedules: readonly ScheduleSettings[];
}

export interface ScheduleSettings {
  readonly name: string;
  readonly days: string;
  readonly from: string;
  readonly to: string;
  readonly allow: readonly string[];
  readonly warn: readonly string[];
  readonly block: readonly string[];
}

/** A nominated user's own levels (policy.users.<name>.levels). */
export type UserLevels = Readonly<Record<string, Readonly<Record<string, Action>>>>;

/** The group's settings as the file says them (its own keys, not what it inherits with `like`). */
export function groupSettingsOf(text: string, group: string): GroupSettings {
  const g = (parseDocument(text).toJS() as { policy?: { groups?: Record<string, Record<string, unknown>> } }).policy?.groups?.[group] ?? {};
  const sites = (g.sites ?? {}) as Record<string, string[] | undefined>;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  return {
    sites: { allow: list(sites.allow), warn: list(sites.warn), block: list(sites.block) },
    safeSearch: Array.isArray(g.safeSearch) ? g.safeSearch.map((e: unknown) => (typeof e === 'object' && e !== null && 'youtube' in e ? { youtube: String((e as { youtube: unknown }).youtube) } : String(e))) : g.safeSearch === true,
    // A schedule without a name gets the one the loader gives it, so saving the page keeps it.
    schedules: (Array.isArray(g.schedules) ? g.schedules : []).map((s: Record<string, unknown>, i: number) => ({
      name: String(s.name ?? `schedule ${i + 1}`), days: String(s.days ?? ''), from: String(s.from ?? ''), to: String(s.to ?? ''),
      allow: list(s.allow), warn: list(s.warn), block: list(s.block),
    })),
  };
}

/** The configuration text with a group's sites, safe search and schedules replaced. */
export function withGroupSettings(text: string, group: string, settings: GroupSettings): string {
  return editYaml(text, (doc) => setGroupSettings(doc, group, settings));
}

function setGroupSettings(doc: Document, group: string, settings: GroupSettings): void {
  const groups = doc.getIn(['policy', 'groups']);
  if (!isMap(groups) || !groups.has(group)) throw new AdminError('invalid', `There is no group "${group}" in the configuration.`, group);
  refuseAlias(doc, group);
  const at = ['policy', 'groups', group];
  const sites = Object.fromEntries((['allow', 'warn', 'block'] as const).filter((a) => settings.sites[a].length > 0).map((a) => [a, [...settings.sites[a]]]));
  const set = (key: string, value: unknown, present: boolean): void => {
    if (present) doc.setIn([...at, key], doc.createNode(value));
    else if (doc.hasIn([...at, key])) doc.deleteIn([...at, key]);
  };
  set('sites', sites, Object.keys(sites).length > 0);
  set('safeSearch', settings.safeSearch, settings.safeSearch !== false || doc.hasIn([...at, 'safeSearch']));
  const schedules = settings.schedules.map((s) => ({
    name: s.name, days: s.days, from: s.from, to: s.to,
    ...Object.fromEntries((['allow', 'warn', 'block'] as const).filter((a) => s[a].length > 0).map((a) => [a, [...s[a]]])),
  }));
  set('schedules', schedules, schedules.length > 0);
}

/** The nominated users' levels as the file says them. */
export function userLevelsOf(text: string): UserLevels {
  const users = (parseDocument(text).toJS() as { policy?: { users?: Record<string, { levels?: Record<string, Action> }> } }).policy?.users ?? {};
  return Object.fromEntries(Object.entries(users).map(([u, v]) => [u, { ...(v?.levels ?? {}) }]));
}

/** The configuration text with the nominated users' levels replaced (their site entries kept). */
export function withUserLevels(text: string, users: UserLevels): string {
  return editYaml(text, (doc) => setUserLevels(doc, userLevelsOf(text), users));
}

function setUserLevels(doc: Document, existing: UserLevels, users: UserLevels): void {
  for (const name of Object.keys(existing)) {
    if (users[name] === undefined || Object.keys(users[name]!).length === 0) {
      if (doc.hasIn(['policy', 'users', name, 'sites'])) doc.deleteIn(['policy', 'users', name, 'levels']);
      else doc.deleteIn(['policy', 'users', name]);
    }
  }
  for (const [name, levels] of Object.entries(users)) {
    if (Object.keys(levels).length === 0) continue;
    const illegal = Object.keys(levels).find((c) => ILLEGAL_CATEGORIES.has(c));
    if (illegal !== undefined) throw new AdminError('illegal', `${illegal} is illegal content: no one can be given it.`, name);
    doc.setIn(['policy', 'users', name, 'levels'], doc.createNode({ ...levels }));
  }
}

/** What changed in groups' own settings and nominated users, in words, comparing two configuration texts. */
export function describeSettings(before: string, after: string, labels: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  const diff = (what: string, a: readonly string[], b: readonly string[]): void => {
    const added = b.filter((x) => !a.includes(x));
    const removed = a.filter((x) => !b.includes(x));
    if (added.length) lines.push(`${what}: added ${added.join(', ')}`);
    if (removed.length) lines.push(`${what}: removed ${removed.join(', ')}`);
  };
  for (const [id, label] of labels) {
    const x = groupSettingsOf(before, id);
    const y = groupSettingsOf(after, id);
    for (const a of ['allow', 'warn', 'block'] as const) diff(`${label}, sites ${a === 'allow' ? 'allowed' : a === 'warn' ? 'warned' : 'blocked'}`, x.sites[a], y.sites[a]);
    const ss = (v: GroupSettings['safeSearch']): string => (v === true ? 'on for every engine' : v === false || v.length === 0 ? 'off' : v.map((e) => (typeof e === 'string' ? e : `youtube ${e.youtube}`)).join(', '));
    if (ss(x.safeSearch) !== ss(y.safeSearch)) lines.push(`${label}, safe search: ${ss(x.safeSearch)} → ${ss(y.safeSearch)}`);
    const show = (s: ScheduleSettings): string => `"${s.name}" ${s.days} ${s.from}–${s.to}${(['allow', 'warn', 'block'] as const).map((a) => (s[a].length ? ` ${a} ${s[a].join(', ')}` : '')).join('')}`;
    diff(`${label}, schedules`, x.schedules.map(show), y.schedules.map(show));
  }
  const u = userLevelsOf(before);
  const v = userLevelsOf(after);
  const entries = (m: UserLevels): string[] => Object.entries(m).flatMap(([name, levels]) => Object.entries(levels).map(([c, a]) => `${name}: ${c} ${a}`));
  diff('Nominated users', entries(u), entries(v));
  return lines;
}
