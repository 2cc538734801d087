// Teachers' temporary unblock requests: ask (from the block page's link or the app), see who
// decides, and follow the request; technicians and senior leaders approve (optionally narrowed),
// decline with a reason, or revoke early. Every change reaches the proxy within a second and is
// in the audit chain (UnblockStore). Each route serves the API (JSON) and the pages (HTML).
import type { FastifyRequest } from 'fastify';
import { targetText, UnblockStateError, type ApproverRole, type UnblockRequest } from '../store/unblocks.js';
import type { Role } from '../store/user-rules.js';
import { addDays, instantOf } from '../policy/time.js';
import { normaliseUrl } from '../classify/normalise-url.js';
import { done, sendPage, wantsHtml, type AdminApp, type AdminDeps } from './app.js';
import { AdminError } from './errors.js';
import { csrfField, html, when, type Html } from './html.js';
import { planUnblock, unblockSite, type UnblockForm } from './unblock-rules.js';

const REQUESTERS: Role[] = ['teacher', 'technician', 'slt', 'dsl'];
const APPROVERS: Role[] = ['technician', 'slt'];
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
const ID = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;

const NEW_BODY = {
  type: 'object',
  required: ['url', 'scope', 'for', 'duration', 'reason'],
  properties: {
    _csrf: text(200), url: { type: 'string', minLength: 1, maxLength: 4096 }, ref: text(16),
    scope: { enum: ['page', 'site'] }, for: { enum: ['me', 'group', 'class'] }, group: text(64), className: text(60), pupils: text(20_000),
    duration: { enum: ['lesson', 'today', 'week', 'custom'] }, from: text(40), until: text(40), reason: { type: 'string', minLength: 1, maxLength: 2000 },
  },
} as const;

const APPROVE_BODY = {
  type: 'object',
  properties: { _csrf: text(200), scope: { enum: ['as-asked', 'page', 'site'] }, until: text(40), note: text(2000) },
} as const;

const DECLINE_BODY = {
  type: 'object', required: ['note'],
  properties: { _csrf: text(200), note: { type: 'string', minLength: 1, maxLength: 2000 } },
} as const;

export function registerUnblockRoutes({ app, signedIn }: AdminApp, deps: AdminDeps): void {
  const now = (): Date => deps.now?.() ?? new Date();
  const zone = (): string => deps.source.config.school.timezone;

  app.get<{ Querystring: { url?: string; ref?: string; categories?: string } }>('/unblocks/new', {
    ...signedIn(...REQUESTERS),
    schema: { querystring: { type: 'object', properties: { url: text(4096), ref: text(16), categories: text(500) } } },
  }, async (req, reply) => {
    const v = req.signed!.viewer;
    const url = req.query.url ?? '';
    // Categories are worked out here, never taken from the link: it came through a pupil's browser.
    let found: Html | null = null;
    if (url !== '') {
      try {
        const c = deps.source.classifier.classify(url);
        found = html`<p>Schoolgate puts this address in: <strong>${c.categories.length ? c.categories.join(', ') : 'no category'}</strong>.</p>`;
      } catch {
        found = html`<p class="error">That is not a web address Schoolgate can read.</p>`;
      }
    }
    const groups = [...deps.source.config.policy.groups.values()];
    // No group is chosen for the teacher: a wrong one opens the site to other children (KS1's,
    // when it was simply first in the list). The group of their last request is marked, so the
    // usual choice is one look away, but it is still made on purpose.
    const last = deps.unblocks.list({ requestedBy: v.username, limit: 20 }).find((u) => u.target.kind === 'group')?.target;
    const lastGroup = last?.kind === 'group' ? last.group : null;
    return sendPage(reply, deps, v, 'Ask for an unblock', html`
${found}
<form method="post" action="/unblocks">${csrfField(v)}
<input type="hidden" name="ref" value="${req.query.ref ?? ''}">
<label for="url">Address</label><input id="url" name="url" value="${url}" required size="60">
<fieldset><legend>What</legend>
<label><input type="radio" name="scope" value="page" checked> This page and what is under it</label>
<label><input type="radio" name="scope" value="site"> The whole site</label></fieldset>
<fieldset><legend>For whom</legend>
<label><input type="radio" name="for" value="group" checked> A group</label>
<label for="group">Group</label><select id="group" name="group"><option value="" selected>Choose the group…</option>${groups.map((g) => html`<option value="${g.id}">${g.label}${g.id === lastGroup ? ' (your last request)' : ''}</option>`)}</select>
<label><input type="radio" name="for" value="class"> A class list</label>
<label for="className">Class name</label><input id="className" name="className" size="20">
<label for="pupils">Pupils' usernames (one a line, or separated by commas)</label><textarea id="pupils" name="pupils" rows="3"></textarea>
<label><input type="radio" name="for" value="me"> Only me</label></fieldset>
<fieldset><legend>How long</legend>
<label><input type="radio" name="duration" value="lesson" checked> This lesson (one hour)</label>
<label><input type="radio" name="duration" value="today"> Today</label>
<label><input type="radio" name="duration" value="week"> This week</label>
<label><input type="radio" name="duration" value="custom"> From … until … (school time)</label>
<label for="from">From</label><input id="from" name="from" type="datetime-local">
<label for="until">Until</label><input id="until" name="until" type="datetime-local">
<p class="muted">At most ${deps.source.config.admin.unblocks.maxDays} days.</p></fieldset>
<label for="reason">Why the class needs it</label><textarea id="reason" name="reason" rows="3" required placeholder="Year 6 research on the history of drugs in medicine"></textarea>
<button type="submit">Send the request</button>
</form>`);
  });

  app.post<{ Body: UnblockForm & { ref?: string } }>('/unblocks', { ...signedIn(...REQUESTERS), schema: { body: NEW_BODY } }, async (req, reply) => {
    const me = req.signed!.user;
    const { config, classifier } = deps.source;
    const plan = planUnblock(req.body, { requester: me.username, classify: (u) => classifier.classify(u), policy: config.policy, admin: config.admin, now: now() });
    const made = deps.unblocks.request({ ...plan, requestedBy: me.username, reason: req.body.reason.trim(), reference: req.body.ref?.trim() || null });
    if (made.state === 'approved') deps.unblocksChanged();
    deps.log.info({ unblock: made.id, site: made.site, by: me.username, approver: made.approverRole }, 'unblock requested');
    return done(req, reply, `/unblocks/${made.id}`, json(made), 201);
  });

  app.get('/unblocks', { ...signedIn('teacher', 'technician', 'slt', 'dsl') }, async (req, reply) => {
    const me = req.signed!.user;
    const t = now();
    const mine = deps.unblocks.list({ requestedBy: me.username, limit: 100 });
    const approvable = approverRolesOf(me.roles);
    // One's own requests are decided by someone else, so they are not "waiting for you".
    const waiting = approvable.length ? deps.unblocks.list({ states: ['requested'], approverRoles: approvable, limit: 200 }).filter((u) => !isOwn(u, me.username)) : [];
    const inForce = isApprover(me.roles) ? deps.unblocks.list({ states: ['approved'], limit: 200 }).filter((u) => u.until > t) : [];
    if (!wantsHtml(req)) return { mine: mine.map(json), waiting: waiting.map(json), inForce: inForce.map(json) };
    const v = req.signed!.viewer;
    return sendPage(reply, deps, v, 'Unblock requests', html`
${approvable.length ? html`<h2>Waiting for you (${waiting.length})</h2>${table(waiting, t, zone())}` : null}
${inForce.length ? html`<h2>In force now</h2>${table(inForce, t, zone())}` : null}
<h2>Your requests</h2>${table(mine, t, zone())}
<p><a href="/unblocks/new">Ask for another</a></p>`);
  });

  app.get<{ Params: { id: number } }>('/unblocks/:id', { ...signedIn('teacher', 'technician', 'slt', 'dsl'), schema: { params: ID } }, async (req, reply) => {
    const me = req.signed!.user;
    const u = visible(req, deps.unblocks.get(req.params.id));
    if (!wantsHtml(req)) return json(u);
    const v = req.signed!.viewer;
    const t = now();
    const { classifier } = deps.source;
    const site = classifier.classify(u.site.split('/')[0]!);
    const canDecide = u.state === 'requested' && mayDecide(me.roles, u.approverRole) && !isOwn(u, me.username);
    const canRevoke = u.state === 'approved' && u.until > t && mayRevoke(u, me.username, me.roles);
    return sendPage(reply, deps, v, `Unblock request ${u.id}`, html`
<table>
<tr><th>State</th><td>${stateText(u, t, zone())}</td></tr>
<tr><th>Address asked about</th><td>${u.url}</td></tr>
<tr><th>Opens</th><td>${u.site.includes('/') ? `the page ${u.site} and what is under it` : `the whole site ${u.site}`}</td></tr>
<tr><th>Categories</th><td>${u.categories.length ? u.categories.join(', ') : 'none'}</td></tr>
<tr><th>The site as a whole</th><td>${site.categories.length ? site.categories.join(', ') : 'no category'}${site.matches.length ? html` <span class="muted">(${site.matches.length} list entr${site.matches.length === 1 ? 'y' : 'ies'} name it)</span>` : null}</td></tr>
<tr><th>For</th><td>${targetText(u.target)}</td></tr>
<tr><th>When</th><td>${when(u.from, zone())} until ${when(u.until, zone())}</td></tr>
<tr><th>Why</th><td>${u.reason}</td></tr>
<tr><th>Asked by</th><td>${u.requestedBy}, ${when(u.requestedAt, zone())}${u.reference ? ` (block page reference ${u.reference})` : ''}</td></tr>
<tr><th>Decided by</th><td>${u.approverRole === 'slt' ? 'a senior leader' : u.approverRole === 'auto' ? 'approved automatically (low risk, for the requester only)' : 'a technician'}${u.decidedBy ? `: ${u.decidedBy}, ${when(u.decidedAt, zone())}` : ''}</td></tr>
${u.decisionNote ? html`<tr><th>Note</th><td>${u.decisionNote}</td></tr>` : null}
</table>
${canDecide ? html`
<h2>Approve</h2>
<form method="post" action="/unblocks/${u.id}/approve">${csrfField(v)}
<label for="scope">Open</label><select id="scope" name="scope"><option value="as-asked">as asked</option>${u.site.includes('/') ? null : html`<option value="page">only the page asked about</option>`}</select>
<label for="until">Until (school time; leave empty for as asked)</label><input id="until" name="until" type="datetime-local">
<label for="note">Note to the requester (optional)</label><textarea id="note" name="note" rows="2"></textarea>
<button type="submit">Approve</button></form>
<h2>Decline</h2>
<form method="post" action="/unblocks/${u.id}/decline">${csrfField(v)}
<label for="decline-note">Why (the requester reads this)</label><textarea id="decline-note" name="note" rows="2" required></textarea>
<button type="submit" class="secondary">Decline</button></form>` : null}
${canRevoke ? html`<form method="post" action="/unblocks/${u.id}/revoke">${csrfField(v)}<button type="submit" class="secondary">End it now</button></form>` : null}
<p><a href="/unblocks">All unblock requests</a></p>`);
  });

  app.post<{ Params: { id: number }; Body: { scope?: 'as-asked' | 'page' | 'site'; until?: string; note?: string } }>('/unblocks/:id/approve', {
    ...signedIn(...APPROVERS), schema: { params: ID, body: APPROVE_BODY },
  }, async (req, reply) => {
    const me = req.signed!.user;
    const u = mustDecide(deps.unblocks.get(req.params.id), me.roles, me.username);
    if (u.until <= now()) throw new AdminError('conflict', 'This request\'s time has already passed: the teacher can ask again.');
    const until = req.body.until ? instantOf(req.body.until, zone()) : null;
    if (req.body.until && until === null) throw new AdminError('invalid', 'The end is not a date and time.', 'until');
    // Narrowing only: an approver may shorten or focus a request, never widen it.
    if (until !== null && (until > u.until || until <= now() || until <= u.from)) throw new AdminError('invalid', 'The end must be after now, after the start, and no later than asked.', 'until');
    const site = req.body.scope === 'page' ? pageOf(u) : undefined;
    const made = settle(() => deps.unblocks.approve(u.id, me.username, { ...(site ? { site } : {}), ...(until ? { until } : {}) }, req.body.note?.trim() || null));
    deps.unblocksChanged();
    deps.log.info({ unblock: made.id, by: me.username, site: made.site, until: made.until }, 'unblock approved');
    void tell(deps, made, `approved: ${made.site} for ${targetText(made.target)} until ${when(made.until, zone())}`);
    return done(req, reply, `/unblocks/${made.id}`, json(made));
  });

  app.post<{ Params: { id: number }; Body: { note: string } }>('/unblocks/:id/decline', {
    ...signedIn(...APPROVERS), schema: { params: ID, body: DECLINE_BODY },
  }, async (req, reply) => {
    const me = req.signed!.user;
    const u = mustDecide(deps.unblocks.get(req.params.id), me.roles, me.username);
    const note = req.body.note.trim();
    if (note === '') throw new AdminError('invalid', 'Say why it is declined: the requester reads it.', 'note');
    const made = settle(() => deps.unblocks.decline(u.id, me.username, note));
    deps.log.info({ unblock: made.id, by: me.username }, 'unblock declined');
    void tell(deps, made, `declined: ${made.decisionNote ?? ''}`);
    return done(req, reply, `/unblocks/${made.id}`, json(made));
  });

  app.post<{ Params: { id: number } }>('/unblocks/:id/revoke', {
    ...signedIn('teacher', 'technician', 'slt', 'dsl'), schema: { params: ID, body: { type: 'object', properties: { _csrf: text(200) } } },
  }, async (req, reply) => {
    const me = req.signed!.user;
    const u = visible(req, deps.unblocks.get(req.params.id));
    if (!mayRevoke(u, me.username, me.roles)) throw new AdminError('forbidden', 'Only the requester, a technician or a senior leader can end an unblock.');
    const made = settle(() => deps.unblocks.revoke(u.id, me.username));
    deps.unblocksChanged();
    deps.log.info({ unblock: made.id, by: me.username }, 'unblock revoked');
    return done(req, reply, `/unblocks/${made.id}`, json(made));
  });

  app.get<{ Querystring: { from?: string; to?: string; format?: 'csv' | 'json' | 'html' } }>('/reports/unblocks', {
    ...signedIn('technician', 'slt', 'dsl', 'governor'),
    schema: { querystring: { type: 'object', properties: { from: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, to: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, format: { enum: ['csv', 'json', 'html'] } } } },
  }, async (req, reply) => {
    // Days are the school's: the default runs to today in school time, over about a term.
    const clock = deps.source.config.policy.clock;
    const t = now();
    const to = req.query.to ?? clock.local(t).date;
    const from = req.query.from ?? clock.local(new Date(t.getTime() - 91 * 86_400_000)).date;
    const since = instantOf(`${from}T00:00`, zone())!;
    const before = instantOf(`${addDays(to, 1)}T00:00`, zone())!;
    const rows = deps.unblocks.list({ since, before, limit: 100_000 });
    const format = req.query.format ?? (wantsHtml(req) ? 'html' : 'json');
    if (format === 'json') return { from, to, unblocks: rows.map(json) };
    const cells = (u: UnblockRequest): string[] => [String(u.id), u.requestedAt.toISOString(), u.requestedBy, u.site, u.categories.join(' '), targetText(u.target), u.reason,
      u.from.toISOString(), u.until.toISOString(), hoursOf(u), u.state, u.decidedBy ?? '', u.decisionNote ?? '', u.revokedBy ?? ''];
    if (format === 'csv') {
      const header = ['id', 'requested_at', 'requested_by', 'site', 'categories', 'for', 'reason', 'from', 'until', 'hours', 'state', 'decided_by', 'note', 'revoked_by'];
      const csv = [header, ...rows.map(cells)].map((r) => r.map(csvCell).join(',')).join('\r\n');
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="unblocks-${from}-to-${to}.csv"`).send(`${csv}\r\n`);
    }
    return sendPage(reply, deps, req.signed!.viewer, 'Unblock report', html`
<form method="get" action="/reports/unblocks"><label for="from">From</label><input id="from" name="from" type="date" value="${from}">
<label for="to">To</label><input id="to" name="to" type="date" value="${to}"><button type="submit">Show</button></form>
<p>${rows.length} request${rows.length === 1 ? '' : 's'} from ${from} to ${to}. <a href="/reports/unblocks?from=${from}&amp;to=${to}&amp;format=csv">Download as CSV</a></p>
<table><tr><th>Asked</th><th>By</th><th>Site</th><th>For</th><th>Why</th><th>How long</th><th>Decision</th></tr>
${rows.map((u) => html`<tr><td>${when(u.requestedAt, zone())}</td><td>${u.requestedBy}</td><td>${u.site}<br><span class="muted">${u.categories.join(', ')}</span></td><td>${targetText(u.target)}</td><td>${u.reason}</td><td>${hoursOf(u)} h</td><td>${u.state}${u.decidedBy ? ` by ${u.decidedBy}` : ''}${u.revokedBy ? `, ended early by ${u.revokedBy}` : ''}</td></tr>`)}
</table>`);
  });

  /** A request this person may see: their own, or any for approvers and the DSL. */
  function visible(req: FastifyRequest, u: UnblockRequest | undefined): UnblockRequest {
    if (!u) throw new AdminError('not-found', 'There is no such unblock request.');
    const me = req.signed!.user;
    if (!isOwn(u, me.username) && !me.roles.some((r) => r === 'technician' || r === 'slt' || r === 'dsl')) {
      throw new AdminError('forbidden', 'You can see your own requests only.');
    }
    return u;
  }
}

/** Usernames are compared without regard to case, as at sign-in. */
function isOwn(u: UnblockRequest, username: string): boolean {
  return u.requestedBy.toLowerCase() === username.toLowerCase();
}

function isApprover(roles: readonly Role[]): boolean {
  return roles.some((r) => APPROVERS.includes(r));
}

/** Who may end an approved unblock early: its requester, or an approver. */
function mayRevoke(u: UnblockRequest, username: string, roles: readonly Role[]): boolean {
  return isOwn(u, username) || isApprover(roles);
}

/** Which requests a person's roles let them decide: a senior leader decides both kinds. */
function approverRolesOf(roles: readonly Role[]): ApproverRole[] {
  const out: ApproverRole[] = [];
  if (roles.includes('technician') || roles.includes('slt')) out.push('technician');
  if (roles.includes('slt')) out.push('slt');
  return out;
}

function mayDecide(roles: readonly Role[], approver: ApproverRole): boolean {
  return approverRolesOf(roles).includes(approver);
}

function mustDecide(u: UnblockRequest | undefined, roles: readonly Role[], me: string): UnblockRequest {
  if (!u) throw new AdminError('not-found', 'There is no such unblock request.');
  // Four eyes: nobody decides their own request (low-risk ones for oneself are auto-approved).
  if (isOwn(u, me)) throw new AdminError('forbidden', 'Your own request must be decided by another technician or a senior leader.');
  if (!mayDecide(roles, u.approverRole)) throw new AdminError('forbidden', u.approverRole === 'slt' ? 'A senior leader must decide this one.' : 'A technician must decide this one.');
  if (u.state !== 'requested') throw new AdminError('conflict', `This request was ${u.state} already.`);
  return u;
}

function settle(step: () => UnblockRequest): UnblockRequest {
  try {
    return step();
  } catch (err) {
    if (err instanceof UnblockStateError) throw new AdminError('conflict', err.message);
    throw err;
  }
}

/** The page asked about, for an approver narrowing a whole-site request. */
function pageOf(u: UnblockRequest): string {
  try {
    return unblockSite(normaliseUrl(u.url), 'page');
  } catch {
    return u.site;
  }
}

async function tell(deps: AdminDeps, u: UnblockRequest, what: string): Promise<void> {
  const requester = deps.users.get(u.requestedBy);
  if (!deps.mail || !requester?.email) return;
  try {
    await deps.mail(requester.email, `Your unblock request ${u.id} was ${u.state}`, `Your request to unblock ${u.site} was ${what}.\n\nWhy you asked: ${u.reason}\n`);
  } catch (err) {
    deps.log.warn({ unblock: u.id, err: String(err) }, 'could not e-mail the requester (the decision is shown in the app)');
  }
}

function table(rows: readonly UnblockRequest[], now: Date, zone: string): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<table><tr><th>Site</th><th>For</th><th>When</th><th>State</th><th>Asked by</th></tr>
${rows.map((u) => html`<tr><td><a href="/unblocks/${u.id}">${u.site}</a></td><td>${targetText(u.target)}</td><td>${when(u.from, zone)} until ${when(u.until, zone)}</td><td>${stateText(u, now, zone)}</td><td>${u.requestedBy}</td></tr>`)}
</table>`;
}

function stateText(u: UnblockRequest, now: Date, zone: string): string {
  if (u.state === 'approved') {
    if (u.until <= now) return 'ended';
    if (u.from > now) return `approved, starts ${when(u.from, zone)}`;
    const minutes = Math.ceil((u.until.getTime() - now.getTime()) / 60_000);
    return `in force: ${minutes >= 120 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`} left`;
  }
  if (u.state === 'requested') return `waiting for ${u.approverRole === 'slt' ? 'a senior leader' : 'a technician'}`;
  return u.state;
}

function json(u: UnblockRequest): Record<string, unknown> {
  return {
    id: u.id, state: u.state, requestedAt: u.requestedAt, requestedBy: u.requestedBy, url: u.url, site: u.site, categories: u.categories, reference: u.reference,
    for: u.target.kind === 'users' ? { kind: 'class', name: u.target.name, users: [...u.target.users] } : u.target, reason: u.reason, from: u.from, until: u.until,
    approverRole: u.approverRole, decidedBy: u.decidedBy, decidedAt: u.decidedAt, note: u.decisionNote, revokedBy: u.revokedBy, revokedAt: u.revokedAt,
  };
}

function hoursOf(u: UnblockRequest): string {
  return ((u.until.getTime() - u.from.getTime()) / 3_600_000).toFixed(1);
}

function csvCell(s: string): string {
  // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}
