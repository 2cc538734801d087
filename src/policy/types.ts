// The compiled policy: what the technician wrote in config, validated and turned into
// immutable lookup structures once, so decide() only reads.
import type { SafeSearchSetting } from './safe-search.js';
import type { SiteList } from './site-list.js';
import type { SchoolClock, TimeWindow } from './time.js';

export type Action = 'allow' | 'block' | 'warn';

/** Block outranks warn outranks allow when a URL's categories disagree. */
export const SEVERITY: Readonly<Record<Action, number>> = { allow: 0, warn: 1, block: 2 };

export type RuleKind = 'illegal' | 'unblock' | 'user' | 'site-list' | 'schedule' | 'level' | 'default';

/** Why a decision came out as it did: one line a technician understands, and where it is written. */
export interface Rule {
  readonly kind: RuleKind;
  readonly action: Action;
  readonly text: string;
  /** Config file and line of the rule; 0 for built-in rules and lists. */
  readonly file: string;
  readonly line: number;
}

export type GroupMode = 'filter' | 'allowlist';

export interface ScheduleRule {
  readonly name: string;
  readonly window: TimeWindow;
  /** Categories whose action this window sets while it is open. */
  readonly categories: ReadonlyMap<string, Rule>;
  /** Sites whose action this window sets while it is open. */
  readonly sites: SiteList<Rule>;
}

export interface GroupPolicy {
  readonly id: string;
  readonly label: string;
  readonly mode: GroupMode;
  /** The group's filter level: category -> rule. */
  readonly levels: ReadonlyMap<string, Rule>;
  /** For categories the level does not name: allow in filter mode, block in allowlist mode. */
  readonly otherCategories: Rule;
  /** For sites in no category. */
  readonly uncategorised: Rule;
  readonly schedules: readonly ScheduleRule[];
  /** The group's own allow and block entries. */
  readonly sites: SiteList<Rule>;
  readonly safeSearch: SafeSearchSetting;
}

export interface UserPolicy {
  readonly id: string;
  readonly levels: ReadonlyMap<string, Rule>;
  readonly sites: SiteList<Rule>;
}

/** Who an unblock is for: a whole group, a class list, or one person. */
export type UnblockTarget =
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'users'; readonly users: ReadonlySet<string>; readonly name: string }
  | { readonly kind: 'user'; readonly user: string };

/** A temporary unblock, as approved: the request/approval workflow lives elsewhere. */
export interface Unblock {
  readonly id: string;
  /** A site ("example.com") or URL prefix ("example.com/topic"). */
  readonly site: string;
  readonly target: UnblockTarget;
  /** Active from `from` (inclusive) until `until` (exclusive), both instants. */
  readonly from: Date;
  readonly until: Date;
  readonly approvedBy: string;
  readonly reason: string;
}

/**
 * Who approves an unblock, by the staff app's role: a technician, or the senior leadership team
 * for the categories in policy.sltApproval. The one spelling from config to UI.
 */
export type Approver = 'technician' | 'slt';

export type UnblockAuthority = 'never' | Approver;

export interface PolicySnapshot {
  readonly file: string;
  readonly clock: SchoolClock;
  readonly groups: ReadonlyMap<string, GroupPolicy>;
  readonly users: ReadonlyMap<string, UserPolicy>;
  /** Categories whose blocks only a senior leader (role slt) may unblock: policy.sltApproval. */
  readonly sltCategories: ReadonlySet<string>;
  /** How long a click-through on a warn page is remembered for that person and site. */
  readonly warnRememberMs: number;
  /** Active and future unblocks, by the site they cover. */
  readonly unblocks: SiteList<Unblock>;
}

/** Who is asking: identity/ works this out; tests and `explain` say it. */
export interface PolicyRequest {
  readonly group: string;
  readonly user?: string;
  /** True for a CONNECT tunnel (only the host is known). */
  readonly connect?: boolean;
}

export interface Decision {
  readonly action: Action;
  readonly categories: readonly string[];
  /** The rule that won. */
  readonly rule: Rule;
  /** For a block: who may unblock it (never for illegal content); null when not blocked. */
  readonly unblockBy: UnblockAuthority | null;
  readonly safeSearch: import('./safe-search.js').SafeSearchAction | null;
}

/** One step of an explanation: a layer of precedence and what it said. */
export interface TraceStep {
  readonly layer: RuleKind;
  readonly said: string;
  readonly rule?: Rule;
}
