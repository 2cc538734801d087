// Technicians' changes to filter levels, made where every other policy change is made: in the
// configuration file. The file is the source of truth: the app rewrites the `policy:` keys it
// changes (comments and everything else kept), checks the whole file with the same loader as
// `policy check`, swaps it in, and reloads; a hand edit plus `lists reload` is picked up the same
// way. So the two can never disagree, and every version (from either) is kept for rollback.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import { ConfigError, formatProblem } from '../config/errors.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';
import type { Action, PolicySnapshot } from '../policy/types.js';
import type { Database } from 'better-sqlite3';
import { recordPolicyVersion } from '../store/policy-versions.js';
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
  const doc = parseDocument(text);
  for (const c of changes) {
    if (ILLEGAL_CATEGORIES.has(c.category)) throw new AdminError('illegal', `${c.category} is illegal content: it is blocked for everyone and cannot be changed.`, `${c.group}.${c.category}`);
    const groups = doc.getIn(['policy', 'groups']);
    if (!isMap(groups) || !groups.has(c.group)) throw new AdminError('invalid', `There is no group "${c.group}" in the configuration.`, c.group);
    if (!isMap(doc.getIn(['policy', 'groups', c.group, 'levels']))) doc.setIn(['policy', 'groups', c.group, 'levels'], doc.createNode({}));
    doc.setIn(['policy', 'groups', c.group, 'levels', c.category], c.action);
  }
  return doc.toString({ lineWidth: 0 });
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

/** Writes the configuration file in one step (a reader sees the old text or the new, never half). */
export function writeConfigText(file: string, text: string): void {
  const next = `${file}.${process.pid}.new`;
  writeFileSync(next, text);
  renameSync(next, file);
}

/**
 * How the running Schoolgate takes a configuration changed in the app: the file is replaced, the
 * version recorded with who and why, and the configuration reloaded (lists, policy, everything).
 */
export function configApplier(service: { readonly config: SchoolgateConfig; reload(reason: string): Promise<boolean> }, db: Database): (text: string, reason: string, actor: string) => Promise<void> {
  return async (text, reason, actor) => {
    writeConfigText(service.config.file, text);
    recordPolicyVersion(db, { file: service.config.file, text, actor, reason });
    if (!(await service.reload(`changed by ${actor} in the staff app`))) throw new Error('the saved configuration did not load: see the log');
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
