// What a teacher's unblock request becomes, as a pure function of the form, the page's
// classification, the policy and the time: what is opened (the page or the whole site), for whom,
// from when until when, and who must approve it. Illegal content is refused here, before anything
// is stored.
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import type { Classification } from '../classify/classifier.js';
import { normaliseUrl, UrlError, type NormalisedUrl } from '../classify/normalise-url.js';
import type { PolicySnapshot, UnblockTarget } from '../policy/types.js';
import { addDays, instantOf, SchoolClock } from '../policy/time.js';
import type { ApproverRole } from '../store/unblocks.js';
import type { AdminConfig } from './config.js';
import { AdminError } from './errors.js';

export type Duration = 'lesson' | 'today' | 'week' | 'custom';

export interface UnblockForm {
  readonly url: string;
  readonly scope: 'page' | 'site';
  readonly for: 'me' | 'group' | 'class';
  readonly group?: string | undefined;
  readonly className?: string | undefined;
  /** Usernames, separated by commas, spaces or new lines. */
  readonly pupils?: string | undefined;
  readonly duration: Duration;
  /** Local school time (2026-11-23T09:00) for a custom duration. */
  readonly from?: string | undefined;
  readonly until?: string | undefined;
  readonly reason: string;
}

export interface PlannedUnblock {
  readonly url: string;
  readonly site: string;
  readonly categories: readonly string[];
  readonly target: UnblockTarget;
  readonly from: Date;
  readonly until: Date;
  readonly approverRole: ApproverRole;
}

const HOUR = 3_600_000;
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** Where the school day ends, for "today" and "this week". */
const END_OF_DAY = '18:00';

export function planUnblock(form: UnblockForm, ctx: {
  readonly requester: string;
  readonly classify: (url: string) => Classification;
  readonly policy: PolicySnapshot;
  readonly admin: AdminConfig;
  readonly now: Date;
}): PlannedUnblock {
  let url;
  try {
    url = normaliseUrl(form.url.trim());
  } catch (err) {
    if (err instanceof UrlError) throw new AdminError('invalid', `The address is not a web address: ${err.message}`, 'url');
    throw err;
  }
  const page = ctx.classify(form.url.trim());
  const site = ctx.classify(url.host);
  const categories = [...new Set([...page.categories, ...site.categories])];
  const illegal = categories.filter((c) => ILLEGAL_CATEGORIES.has(c));
  if (illegal.length > 0) throw new AdminError('illegal', 'This address is on a list of illegal content. It can never be unblocked, for anyone. If you think it is listed wrongly, tell the DSL.', 'url');
  const reason = form.reason.trim();
  if (reason.length < 10) throw new AdminError('invalid', 'Say why the class needs this site (at least a few words): the approver and the audit log read it.', 'reason');

  const target = targetOf(form, ctx.requester, ctx.policy);
  const { from, until } = periodOf(form, ctx.now, ctx.policy.clock, ctx.admin.unblocks.maxDays);
  const senior = categories.some((c) => ctx.policy.sltCategories.has(c));
  const approverRole: ApproverRole = senior ? 'slt'
    : target.kind === 'user' && target.user === ctx.requester && categories.length > 0 && categories.every((c) => ctx.admin.unblocks.autoApprove.has(c)) ? 'auto'
    : 'technician';
  return {
    url: form.url.trim(), site: unblockSite(url, form.scope), categories, target, from, until, approverRole,
  };
}

/** What an unblock opens: the host, or the page's path under it (the site itself for its home page). */
export function unblockSite(url: NormalisedUrl, scope: 'page' | 'site'): string {
  const path = url.path === '/' ? '' : url.path.replace(/\/$/, '');
  return scope === 'page' && path !== '' ? `${url.host}${path}` : url.host;
}

function targetOf(form: UnblockForm, requester: string, policy: PolicySnapshot): UnblockTarget {
  if (form.for === 'me') return { kind: 'user', user: requester };
  if (form.for === 'group') {
    const group = form.group ?? '';
    if (group === '') throw new AdminError('invalid', `Choose which group it is for (${[...policy.groups.values()].map((g) => g.label).join(', ')}), or choose "Only me" or a class list.`, 'group');
    if (!policy.groups.has(group)) throw new AdminError('invalid', `Choose a group: ${[...policy.groups.keys()].join(', ')}`, 'group');
    return { kind: 'group', group };
  }
  const users = (form.pupils ?? '').split(/[\s,;]+/).filter((u) => u !== '');
  if (users.length === 0) throw new AdminError('invalid', 'List the pupils\' usernames for the class.', 'pupils');
  const bad = users.find((u) => !USERNAME.test(u));
  if (bad !== undefined) throw new AdminError('invalid', `"${bad.slice(0, 64)}" is not a username.`, 'pupils');
  if (users.length > 200) throw new AdminError('invalid', 'A class list holds at most 200 pupils: ask for the group instead.', 'pupils');
  const name = (form.className ?? '').trim();
  if (name === '' || name.length > 60) throw new AdminError('invalid', 'Name the class (for example 6B), in at most 60 characters.', 'className');
  return { kind: 'users', users: new Set(users.map((u) => u.toLowerCase())), name };
}

function periodOf(form: UnblockForm, now: Date, clock: SchoolClock, maxDays: number): { from: Date; until: Date } {
  const zone = clock.timeZone;
  const today = clock.local(now);
  const endOf = (date: string): Date => instantOf(`${date}T${END_OF_DAY}`, zone)!;
  let from = now;
  let until: Date;
  switch (form.duration) {
    case 'lesson':
      until = new Date(now.getTime() + HOUR);
      break;
    case 'today':
      until = endOf(today.date);
      if (until <= now) until = new Date(now.getTime() + HOUR);
      break;
    case 'week': {
      // Friday at the end of the day (day 0 is Monday); at the weekend, the Friday to come.
      const daysToFriday = (4 - today.day + 7) % 7;
      until = endOf(addDays(today.date, daysToFriday));
      if (until <= now) until = endOf(addDays(today.date, 7));
      break;
    }
    case 'custom': {
      const f = form.from ? instantOf(form.from, zone) : now;
      const u = form.until ? instantOf(form.until, zone) : null;
      if (f === null) throw new AdminError('invalid', 'The start is not a date and time.', 'from');
      if (u === null) throw new AdminError('invalid', 'Give an end date and time.', 'until');
      from = f < now ? now : f;
      until = u;
      break;
    }
  }
  if (until <= from) throw new AdminError('invalid', 'The end must come after the start, and after now.', 'until');
  if (until.getTime() - from.getTime() > maxDays * 24 * HOUR) throw new AdminError('invalid', `An unblock lasts at most ${maxDays} days here.`, 'until');
  return { from, until };
}
