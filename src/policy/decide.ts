// decide(): what a group may do with one classified request, and why. Pure: the snapshot and
// the time are arguments. Precedence (README "Policy"), first that has an opinion wins:
//   1. illegal lists (IWF, terrorism): blocked for everyone, never unblockable
//   2. active unblocks for this person, class or group
//   3. the nominated user's overrides (sites, then categories)
//   4. site lists: the school's and the group's allow/block entries, where at least as specific
//      as any category entry for the URL
//   5. schedules open now (sites, then categories)
//   6. the group's filter level, then its default for other categories / uncategorised sites
// Where a URL is in several categories, each is resolved through 3, 5 and 6 and the most
// restrictive answer wins (block, then warn, then allow).
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import type { Classification } from '../classify/classifier.js';
import { safeSearchFor } from './safe-search.js';
import {
  SEVERITY, type Decision, type GroupPolicy, type PolicyRequest, type PolicySnapshot, type Rule, type TraceStep, type Unblock,
  type UnblockAuthority, type UserPolicy,
} from './types.js';
import type { LocalTime } from './time.js';
import { inWindow } from './time.js';

const UNKNOWN_GROUP: Rule = { kind: 'default', action: 'block', text: 'unknown group: blocked until the request is identified', file: '', line: 0 };

function illegalRule(category: string): Rule {
  return { kind: 'illegal', action: 'block', text: `${category} list: illegal content is blocked for everyone and cannot be unblocked`, file: '', line: 0 };
}

export function decide(req: PolicyRequest, c: Classification, p: PolicySnapshot, now: Date | number, trace?: TraceStep[]): Decision {
  // 1. Illegal content: before anything a school can configure, and before the group is known,
  // so an unidentified request for it is still refused as illegal (never unblockable).
  for (const m of c.matches) {
    if (ILLEGAL_CATEGORIES.has(m.category)) return finish(illegalRule(m.category), c, p, null, trace, 'illegal');
  }
  trace?.push({ layer: 'illegal', said: 'not on an illegal list' });

  const group = p.groups.get(req.group);
  if (!group) return finish(UNKNOWN_GROUP, c, p, null, trace, 'default');
  const safe = group.safeSearch.engines.size === 0 ? null : safeSearchFor(c.url, req.connect === true, group.safeSearch);

  // 2. Unblocks.
  const unblock = activeUnblock(p, req, c, now);
  if (unblock) {
    const rule: Rule = {
      kind: 'unblock', action: 'allow', file: '', line: 0,
      text: `unblocked ${unblock.site} for ${targetText(unblock)} until ${unblock.until.toISOString()} (approved by ${unblock.approvedBy}: ${unblock.reason})`,
    };
    return finish(rule, c, p, safe, trace, 'unblock');
  }
  trace?.push({ layer: 'unblock', said: 'no active unblock covers it' });

  // 3. The nominated user's overrides.
  const user = req.user === undefined ? undefined : p.users.get(req.user);
  if (user) {
    const site = user.sites.find(c.url);
    if (site && covers(site.value, site.specificity, c)) return finish(site.value, c, p, safe, trace, 'user');
    if (c.categories.some((cat) => user.levels.has(cat))) return finish(byCategory(group, user, c, p, now, trace), c, p, safe, trace, 'user');
    trace?.push({ layer: 'user', said: `no override for ${req.user} applies` });
  } else trace?.push({ layer: 'user', said: req.user === undefined ? 'no user named' : `${req.user} has no overrides` });

  // 4. Site lists, where they are at least as specific as the URL's category entries.
  const siteRule = siteListRule(group, c);
  if (siteRule) return finish(siteRule, c, p, safe, trace, 'site-list');
  trace?.push({ layer: 'site-list', said: 'no school or group site entry decides' });

  // 5 and 6.
  return finish(byCategory(group, undefined, c, p, now, trace), c, p, safe, trace, null);
}

function finish(rule: Rule, c: Classification, p: PolicySnapshot, safe: Decision['safeSearch'], trace: TraceStep[] | undefined, layer: TraceStep['layer'] | null): Decision {
  if (trace && layer) trace.push({ layer, said: rule.text, rule });
  let unblockBy: UnblockAuthority | null = null;
  if (rule.action !== 'allow') {
    unblockBy = rule.kind === 'illegal' ? 'never' : c.categories.some((cat) => p.sltCategories.has(cat)) ? 'slt' : 'technician';
  }
  return { action: rule.action, categories: c.categories, rule, unblockBy, safeSearch: rule.action === 'block' ? null : safe };
}

function targetText(u: Unblock): string {
  return u.target.kind === 'group' ? `group ${u.target.group}` : u.target.kind === 'user' ? u.target.user : `class ${u.target.name}`;
}

function activeUnblock(p: PolicySnapshot, req: PolicyRequest, c: Classification, now: Date | number): Unblock | undefined {
  if (p.unblocks.size === 0) return undefined;
  const t = typeof now === 'number' ? now : now.getTime();
  const beyond = mostSpecificCategory(c);
  for (const hit of p.unblocks.findAll(c.url)) {
    // An unblock of example.com does not open bad.example.com where a list names it apart.
    if (hit.specificity < beyond) continue;
    const u = hit.value;
    if (t < u.from.getTime() || t >= u.until.getTime()) continue;
    const target = u.target;
    // Usernames are matched without regard to case, as they are at sign-in (an MIS import writes Tom.Smith).
    const user = req.user?.toLowerCase();
    if (target.kind === 'group' ? target.group === req.group : target.kind === 'user' ? target.user.toLowerCase() === user : user !== undefined && target.users.has(user)) return u;
  }
  return undefined;
}

/** The specificity of the URL's most specific category-list entry; -1 when it has none. */
function mostSpecificCategory(c: Classification): number {
  let best = -1;
  for (const m of c.matches) if (m.role === 'category' && m.specificity > best) best = m.specificity;
  return best;
}

/**
 * A site entry that allows (or warns) covers the URL only if no category entry for it is more
 * specific: the school allows example.com, but a list names bad.example.com apart. A block
 * entry always covers it: narrowing a block must never open anything.
 */
function covers(rule: Rule, specificity: number, c: Classification): boolean {
  return rule.action === 'block' || specificity >= mostSpecificCategory(c);
}

/**
 * The school's global entries come through the classification (lists with role allow/block);
 * the group's own through its site list. The most specific of them decides, if it covers the
 * URL (see covers()).
 */
function siteListRule(group: GroupPolicy, c: Classification): Rule | undefined {
  let best: { rule: Rule; specificity: number } | undefined;
  for (const m of c.matches) {
    if (m.role === 'category') continue;
    if (!best || m.specificity > best.specificity) {
      best = {
        specificity: m.specificity,
        rule: { kind: 'site-list', action: m.role === 'allow' ? 'allow' : 'block', text: `${m.entry} is on the school's ${m.role} list (${m.list}, line ${m.line})`, file: '', line: 0 },
      };
    }
  }
  const own = group.sites.find(c.url);
  if (own && (!best || own.specificity >= best.specificity)) best = { rule: own.value, specificity: own.specificity };
  return best && covers(best.rule, best.specificity, c) ? best.rule : undefined;
}

/** Layers 5 and 6 (and 3's categories when `user` is given): each category, most restrictive wins. */
function byCategory(group: GroupPolicy, user: UserPolicy | undefined, c: Classification, p: PolicySnapshot, now: Date | number, trace: TraceStep[] | undefined): Rule {
  const local = group.schedules.length === 0 ? undefined : p.clock.local(now);
  if (local) {
    for (const s of group.schedules) {
      if (s.sites.size === 0 || !inWindow(s.window, local)) continue;
      const hit = s.sites.find(c.url);
      if (hit && covers(hit.value, hit.specificity, c)) return hit.value;
    }
  }
  if (c.categories.length === 0) {
    trace?.push({ layer: 'default', said: 'in no category' });
    return group.uncategorised;
  }
  let winner: Rule | undefined;
  for (const cat of c.categories) {
    const rule = user?.levels.get(cat) ?? scheduled(group, cat, local) ?? group.levels.get(cat) ?? group.otherCategories;
    trace?.push({ layer: rule.kind, said: `${cat}: ${rule.text}`, rule });
    if (!winner || SEVERITY[rule.action] > SEVERITY[winner.action]) winner = rule;
  }
  return winner!;
}

function scheduled(group: GroupPolicy, category: string, local: LocalTime | undefined): Rule | undefined {
  if (!local) return undefined;
  for (const s of group.schedules) {
    const rule = s.categories.get(category);
    if (rule && inWindow(s.window, local)) return rule;
  }
  return undefined;
}
