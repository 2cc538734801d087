// Categories a group allows without saying so. In filter mode a category the filter level does
// not name falls to the group's default (allow), so a pupil group that forgets `suicide` lets
// pupils reach it, and nothing in the file shows that anyone decided it. `policy check` names
// each such omission; allowing a category on purpose (writing `suicide: allow`) is not one.
import { BUILTIN_CATEGORIES, ILLEGAL_CATEGORIES } from '../classify/categories.js';
import type { PolicySnapshot } from './types.js';

/**
 * Groups whose omissions are not reported: adults trusted with judgement. Every other group is
 * checked as pupils or guests, so a group a school adds (year7, visitors) must say what it allows.
 */
export const ADULT_GROUPS: ReadonlySet<string> = new Set(['staff']);

export interface Omission {
  readonly group: string;
  readonly label: string;
  /** The categories allowed only because the level does not name them. */
  readonly categories: readonly string[];
  /** Where the group's default comes from (the group, or its `default:` key). */
  readonly file: string;
  readonly line: number;
}

/**
 * The categories a pupil must not reach by accident: the UK Safer Internet Centre's
 * inappropriate set, the safeguarding topics, and whatever else raises a safeguarding alert
 * (`alertCategories`, from the safeguarding file). Illegal ones are blocked before any level.
 */
export function guardedCategories(alertCategories: Iterable<string> = []): string[] {
  const ids = BUILTIN_CATEGORIES.filter((c) => c.group === 'inappropriate' || c.group === 'safeguarding').map((c) => c.id);
  for (const c of alertCategories) if (!ids.includes(c)) ids.push(c);
  return ids.filter((c) => !ILLEGAL_CATEGORIES.has(c));
}

/** Each non-adult group that allows any of `guarded` by omission, with the categories it leaves open. */
export function allowedByOmission(policy: PolicySnapshot, guarded: readonly string[]): Omission[] {
  const out: Omission[] = [];
  for (const g of policy.groups.values()) {
    if (ADULT_GROUPS.has(g.id) || g.otherCategories.action !== 'allow') continue;
    const categories = guarded.filter((c) => !g.levels.has(c));
    if (categories.length > 0) out.push({ group: g.id, label: g.label, categories, file: g.otherCategories.file, line: g.otherCategories.line });
  }
  return out;
}
