// Technicians' filter levels: the matrix of groups × categories (illegal rows locked), a change
// previewed as what it means for people, saved with a reason as a new configuration version and
// applied without a restart; earlier versions restored the same way. "Test a URL" shows the
// explain output for any URL, group, user and time.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import { decide } from '../policy/decide.js';
import { instantOf } from '../policy/time.js';
import type { Action, PolicySnapshot, TraceStep } from '../policy/types.js';
import { done, sendPage, wantsHtml, type AdminApp, type AdminDeps } from './app.js';
import { AdminError } from './errors.js';
import { csrfField, html, when, type Html } from './html.js';
import { changedCells, policyOfText, renderMatrix, sectionsOf } from './matrix.js';
import { checkConfigText, describeChange, describeSettings, groupSettingsOf, levelOf, userLevelsOf, withGroupSettings, withLevels, withUserLevels, versionOf, type GroupSettings, type LevelChange, type ScheduleSettings } from './policy-edit.js';

const ACTIONS: readonly Action[] = ['allow', 'warn', 'block'];
const SCHEDULE_FIELDS = [['name', 'Name'], ['days', 'Days'], ['from', 'From'], ['to', 'To']] as const;
/** The configuration version a form was made from (sha256 of its text). */
const BASE = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const CHANGE_BODY = {
  type: 'object',
  required: ['reason'],
  properties: { _csrf: { type: 'string', maxLength: 200 }, base: BASE, reason: { type: 'string', maxLength: 2000 }, confirm: { type: 'string', maxLength: 10 } },
  // The cells: level.<group>.<category> = allow | warn | block.
  patternProperties: { '^level\\.[a-z0-9_-]{1,40}\\.[a-z0-9_-]{1,60}$': { enum: ACTIONS } },
  additionalProperties: false,
} as const;

export function registerPolicyRoutes({ app, signedIn }: AdminApp, deps: AdminDeps): void {
  const now = (): Date => deps.now?.() ?? new Date();

  /**
   * Every policy change goes through here: the new text is checked by the configuration loader,
   * described in people's words, and shown for confirmation (the form posts itself again with
   * confirm=yes); once confirmed, written, recorded with the reason, and reloaded.
   */
  async function previewOrApply(req: FastifyRequest<{ Body: Record<string, string> }>, reply: FastifyReply, action: string, text: string, reason: string, detail: Record<string, unknown>): Promise<unknown> {
    const { config } = deps.source;
    if (reason.length < 5) throw new AdminError('invalid', 'Say why the change is made: it is kept with the version.', 'reason');
    const base = req.body.base ?? versionOf(config.text);
    if (base !== versionOf(config.text)) throw new AdminError('conflict', 'The configuration changed since this page was opened. Open the page again and make the change on the new version.');
    const candidate = checkConfigText(config.file, text);
    const effects = [
      ...describeChange(config.policy, candidate.policy, config.categories.all().map((c) => c.id)),
      ...describeSettings(config.text, text, new Map([...candidate.policy.groups.values()].map((g) => [g.id, g.label]))),
    ];
    if (effects.length === 0) throw new AdminError('invalid', 'Nothing was changed.');
    if (req.body.confirm !== 'yes') {
      if (!wantsHtml(req)) return { preview: effects, ...detail };
      const v = req.signed!.viewer;
      const fields = Object.entries(req.body).filter(([k]) => k !== '_csrf' && k !== 'confirm');
      return sendPage(reply, deps, v, 'Check the change', html`<ul>${effects.map((e) => html`<li>${e}</li>`)}</ul>
<p>Reason: ${reason}</p>
<form method="post" action="${action}">${csrfField(v)}<input type="hidden" name="confirm" value="yes">
${fields.map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
<button type="submit">Save and apply</button> <a href="${action}">Cancel</a></form>`);
    }
    if (!deps.applyConfig) throw new AdminError('conflict', 'This Schoolgate cannot change its configuration from the app.');
    await deps.applyConfig(text, reason, req.signed!.user.username, base);
    deps.log.info({ by: req.signed!.user.username, effects, reason }, 'policy changed in the staff app');
    return done(req, reply, '/policy/versions', { applied: effects, ...detail });
  }

  /** The version of the configuration the page shows, sent back with a change. */
  const baseField = (): Html => html`<input type="hidden" name="base" value="${versionOf(deps.source.config.text)}">`;
  const lines = (v: string | undefined): string[] => (v ?? '').split(/[\n,]+/).map((x) => x.trim()).filter((x) => x !== '');
  const GROUP_BODY = {
    type: 'object', required: ['reason'],
    properties: {
      _csrf: { type: 'string', maxLength: 200 }, base: BASE, reason: { type: 'string', maxLength: 2000 }, confirm: { type: 'string', maxLength: 10 },
      'sites.allow': { type: 'string', maxLength: 100_000 }, 'sites.warn': { type: 'string', maxLength: 100_000 }, 'sites.block': { type: 'string', maxLength: 100_000 },
      safeSearch: { type: 'string', maxLength: 200 },
    },
    patternProperties: { '^schedule\\.\\d{1,2}\\.(name|days|from|to|allow|warn|block)$': { type: 'string', maxLength: 2000 } },
    additionalProperties: false,
  } as const;

  app.get<{ Params: { id: string } }>('/policy/groups/:id', { ...signedIn('technician', 'slt', 'governor'), schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 40 } } } } }, async (req, reply) => {
    const { config } = deps.source;
    const group = config.policy.groups.get(req.params.id);
    if (!group) throw new AdminError('not-found', 'There is no such group.');
    const settings = groupSettingsOf(config.text, group.id);
    if (!wantsHtml(req)) return { id: group.id, label: group.label, ...settings };
    const v = req.signed!.viewer;
    const edit = req.signed!.user.roles.includes('technician');
    const dis = edit ? null : html` disabled`;
    const rows = [...settings.schedules, { name: '', days: '', from: '', to: '', allow: [], warn: [], block: [] }];
    const ss = settings.safeSearch === true ? 'true' : settings.safeSearch === false ? '' : settings.safeSearch.map((e) => (typeof e === 'string' ? e : `youtube: ${e.youtube}`)).join(', ');
    return sendPage(reply, deps, v, `${group.label}: sites, safe search and schedules`, html`<form method="post" action="/policy/groups/${group.id}">${csrfField(v)}${baseField()}
<p class="muted">Entries are hosts (example.com, which covers its subdomains) or pages (example.com/topic), one a line. A group that is <code>like</code> another also has that group's entries.</p>
${(['allow', 'warn', 'block'] as const).map((a) => html`<label for="sites-${a}">Sites ${a === 'allow' ? 'always allowed' : a === 'warn' ? 'warned' : 'always blocked'}</label><textarea id="sites-${a}" name="sites.${a}" rows="4"${dis}>${settings.sites[a].join('\n')}</textarea>`)}
<label for="safeSearch">Safe search (empty: off; true: every engine; or engines, e.g. google, bing, youtube: moderate)</label><input id="safeSearch" name="safeSearch" value="${ss}"${dis}>
<h2>Schedules</h2><p class="muted">Days like mon-fri or fri; times like 12:00; categories separated by commas. Empty a schedule's name to remove it.</p>
${rows.map((r, i) => html`<fieldset><legend>${r.name === '' ? 'A new schedule' : `Schedule: ${r.name}`}</legend><div class="fields">
${SCHEDULE_FIELDS.map(([k, label]) => html`<label>${label}<input name="schedule.${i}.${k}" value="${r[k]}"${dis}></label>`)}
${(['allow', 'warn', 'block'] as const).map((k) => html`<label class="wide">Categories it ${k === 'allow' ? 'opens' : k === 'warn' ? 'warns about' : 'blocks'}<input name="schedule.${i}.${k}" value="${r[k].join(', ')}"${dis}></label>`)}
</div></fieldset>`)}
${edit ? html`<label for="reason">Why (kept with this version)</label><textarea id="reason" name="reason" rows="2" required></textarea><button type="submit">Preview the change</button>` : null}
</form><p><a href="/policy">Filter levels</a></p>`);
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/policy/groups/:id', {
    ...signedIn('technician'), schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 40 } } }, body: GROUP_BODY },
  }, async (req, reply) => {
    const { config } = deps.source;
    if (!config.policy.groups.has(req.params.id)) throw new AdminError('not-found', 'There is no such group.');
    const b = req.body;
    const schedules: ScheduleSettings[] = [];
    for (let i = 0; i < 100; i++) {
      const name = b[`schedule.${i}.name`]?.trim();
      if (name === undefined) continue;
      if (name === '') continue;
      schedules.push({ name, days: b[`schedule.${i}.days`]?.trim() ?? '', from: b[`schedule.${i}.from`]?.trim() ?? '', to: b[`schedule.${i}.to`]?.trim() ?? '',
        allow: lines(b[`schedule.${i}.allow`]), warn: lines(b[`schedule.${i}.warn`]), block: lines(b[`schedule.${i}.block`]) });
    }
    const ssText = (b.safeSearch ?? '').trim();
    const safeSearch = ssText === '' || ssText === 'false' ? false : ssText === 'true' ? true
      : lines(ssText).map((e) => { const m = /^youtube\s*:\s*(\S+)$/.exec(e); return m ? { youtube: m[1]! } : e; });
    const settings: GroupSettings = { sites: { allow: lines(b['sites.allow']), warn: lines(b['sites.warn']), block: lines(b['sites.block']) }, safeSearch, schedules };
    const text = withGroupSettings(config.text, req.params.id, settings);
    return previewOrApply(req, reply, `/policy/groups/${req.params.id}`, text, (b.reason ?? '').trim(), { group: req.params.id });
  });

  app.get('/policy/users', { ...signedIn('technician', 'slt', 'governor') }, async (req, reply) => {
    const users = userLevelsOf(deps.source.config.text);
    if (!wantsHtml(req)) return { users };
    const v = req.signed!.viewer;
    const edit = req.signed!.user.roles.includes('technician');
    const rows = [...Object.entries(users), ['', {}] as const, ['', {}] as const];
    return sendPage(reply, deps, v, 'Nominated users', html`<p>One person's own levels, on top of their group's (for example a teacher of media studies who needs video-streaming).</p>
<form method="post" action="/policy/users">${csrfField(v)}${baseField()}
<table><tr><th>Username</th><th>Levels (category=allow|warn|block, separated by commas)</th></tr>
${rows.map(([name, levels], i) => html`<tr><td><input aria-label="user ${i + 1}" name="user.${i}.name" value="${name}"${edit ? null : html` disabled`}></td><td><input aria-label="levels of user ${i + 1}" name="user.${i}.levels" size="60" value="${Object.entries(levels).map(([c, a]) => `${c}=${a}`).join(', ')}"${edit ? null : html` disabled`}></td></tr>`)}
</table>
${edit ? html`<label for="reason">Why (kept with this version)</label><textarea id="reason" name="reason" rows="2" required></textarea><button type="submit">Preview the change</button>` : null}
</form>`);
  });

  app.post<{ Body: Record<string, string> }>('/policy/users', {
    ...signedIn('technician'),
    schema: { body: { type: 'object', required: ['reason'], properties: { _csrf: { type: 'string', maxLength: 200 }, base: BASE, reason: { type: 'string', maxLength: 2000 }, confirm: { type: 'string', maxLength: 10 } }, patternProperties: { '^user\\.\\d{1,3}\\.(name|levels)$': { type: 'string', maxLength: 5000 } }, additionalProperties: false } },
  }, async (req, reply) => {
    const { config } = deps.source;
    const users: Record<string, Record<string, Action>> = {};
    for (let i = 0; i < 1000; i++) {
      const name = req.body[`user.${i}.name`]?.trim();
      if (!name) continue;
      const levels: Record<string, Action> = {};
      for (const pair of lines(req.body[`user.${i}.levels`])) {
        const m = /^([a-z0-9_-]+)\s*[=:]\s*(allow|warn|block)$/.exec(pair);
        if (!m) throw new AdminError('invalid', `"${pair}" is not category=allow, warn or block (user ${name}).`, `user.${i}.levels`);
        if (!config.categories.has(m[1]!)) throw new AdminError('invalid', `There is no category "${m[1]}" (user ${name}).`, `user.${i}.levels`);
        levels[m[1]!] = m[2] as Action;
      }
      users[name] = levels;
    }
    const text = withUserLevels(config.text, users);
    return previewOrApply(req, reply, '/policy/users', text, (req.body.reason ?? '').trim(), { users });
  });

  /** The defaults the matrix compares with: the configuration Schoolgate first ran with, compiled once per text. */
  let defaults: { sha256: string; policy: PolicySnapshot | null } | null = null;
  const defaultPolicy = (): PolicySnapshot | null => {
    const first = deps.db.prepare('SELECT sha256, file, text FROM policy_versions ORDER BY id LIMIT 1').get() as { sha256: string; file: string; text: string } | undefined;
    if (!first) return null;
    const { config } = deps.source;
    if (defaults?.sha256 !== first.sha256) defaults = { sha256: first.sha256, policy: policyOfText(first.file, first.text, config.categories, config.school.timezone) };
    return defaults.policy;
  };

  app.get<{ Querystring: { show?: 'all' | 'changed' } }>('/policy', {
    ...signedIn('technician', 'slt', 'governor'), schema: { querystring: { type: 'object', properties: { show: { enum: ['all', 'changed'] } } } },
  }, async (req, reply) => {
    const { config } = deps.source;
    const policy = config.policy;
    const groups = [...policy.groups.values()];
    const categories = config.categories.all();
    const edit = req.signed!.user.roles.includes('technician');
    if (!wantsHtml(req)) {
      return { groups: groups.map((g) => ({ id: g.id, label: g.label, mode: g.mode, levels: Object.fromEntries(categories.map((c) => [c.id, levelOf(policy, g.id, c.id)])) })) };
    }
    const v = req.signed!.viewer;
    const sections = sectionsOf(config.categories, config.safeguarding);
    const base = defaultPolicy();
    const onlyChanged = req.query.show === 'changed' && base !== null;
    const changed = base ? changedCells({ policy, sections, defaults: base }) : 0;
    const filter = html`<p class="matrix-filter">Show: ${onlyChanged ? html`<a href="/policy">every category</a>` : html`<a href="/policy" aria-current="page">every category</a>`} ·
${base === null ? html`<span class="muted">(no defaults to compare with)</span>` : onlyChanged ? html`<a href="/policy?show=changed" aria-current="page">only what differs from the defaults (${changed})</a>` : html`<a href="/policy?show=changed">only what differs from the defaults (${changed})</a>`}
<br><small class="muted">The defaults are the levels Schoolgate first ran with; a cell that differs is outlined and says the default.</small></p>`;
    const matrix = html`${filter}${renderMatrix({ policy, sections, defaults: base, onlyChanged, editable: edit })}`;
    const extras = html`<h2>Also in the policy</h2><ul>${groups.map((g) => html`<li>${g.label}: ${g.sites.size} site entr${g.sites.size === 1 ? 'y' : 'ies'} of its own; sites in no category ${g.uncategorised.action}; safe search ${g.safeSearch.engines.size ? [...g.safeSearch.engines].join(', ') : 'off'}</li>`)}</ul>
<p>Each group's own sites, safe search and schedules: ${groups.map((g, i) => html`${i ? ', ' : ''}<a href="/policy/groups/${g.id}">${g.label}</a>`)}. <a href="/policy/users">Nominated users</a>.</p>
<p class="muted">These pages change ${config.file}; a hand edit there and <code>npx schoolgate lists reload</code> shows here at once.</p>`;
    return sendPage(reply, deps, v, 'Filter levels', edit
      ? html`<form method="post" action="/policy">${csrfField(v)}${baseField()}${matrix}
<label for="reason">Why (kept with this version)</label><textarea id="reason" name="reason" rows="2" required></textarea>
<button type="submit">Preview the change</button></form>${extras}<p><a href="/policy/versions">Earlier versions</a></p>`
      : html`${matrix}${extras}`);
  });

  app.post<{ Body: Record<string, string> }>('/policy', { ...signedIn('technician'), schema: { body: CHANGE_BODY } }, async (req, reply) => {
    const { config } = deps.source;
    const reason = (req.body.reason ?? '').trim();
    if (reason.length < 5) throw new AdminError('invalid', 'Say why the change is made: it is kept with the version.', 'reason');
    const changes: LevelChange[] = [];
    for (const [key, value] of Object.entries(req.body)) {
      if (!key.startsWith('level.')) continue;
      const [, group, category] = key.split('.') as [string, string, string];
      if (!config.policy.groups.has(group)) throw new AdminError('invalid', `There is no group "${group}".`, key);
      if (!config.categories.has(category)) throw new AdminError('invalid', `There is no category "${category}".`, key);
      if (ILLEGAL_CATEGORIES.has(category)) {
        if (value !== 'block') throw new AdminError('illegal', `${category} is illegal content: it is blocked for everyone and cannot be changed.`, key);
        continue;
      }
      if (levelOf(config.policy, group, category) !== value) changes.push({ group, category, action: value as Action });
    }
    if (changes.length === 0) throw new AdminError('invalid', 'Nothing was changed.');
    const text = withLevels(config.text, changes);
    return previewOrApply(req, reply, '/policy', text, reason, { changes });
  });

  app.get('/policy/versions', { ...signedIn('technician', 'slt', 'governor') }, async (req, reply) => {
    const rows = deps.db.prepare(`SELECT a.id, a.at, a.actor, json_extract(a.detail, '$.sha256') AS sha256, json_extract(a.detail, '$.reason') AS reason,
        json_extract(a.detail, '$.source') AS source, json_extract(a.detail, '$.previous') AS previous
      FROM audit a WHERE a.action = 'policy.changed' ORDER BY a.id DESC LIMIT 200`).all() as { id: number; at: string; actor: string; sha256: string; reason: string | null; source: string | null; previous: string | null }[];
    if (!wantsHtml(req)) return { versions: rows.map(({ previous: _, ...r }) => r) };
    const v = req.signed!.viewer;
    const zone = deps.source.config.school.timezone;
    const tech = req.signed!.user.roles.includes('technician');
    // A hand edit is not the account that loaded it: say where it came from, and who loaded it.
    const who = (r: (typeof rows)[number]): Html => (r.source === 'server'
      ? html`${r.previous === null ? 'On the server, at the first start' : 'Edited on the server'}<br><small class="muted">loaded by ${r.actor}</small>`
      : html`${r.actor}`);
    return sendPage(reply, deps, v, 'Configuration versions', html`<p>Newest first; the first row is in force. A change made here is recorded with who made it and why; an edit of ${deps.source.config.file} on the server is recorded as such when Schoolgate loads it.</p>
<table><tr><th>When</th><th>Who</th><th>Why</th><th>Version</th>${tech ? html`<th></th>` : null}</tr>
${rows.map((r, i) => html`<tr><td>${when(new Date(r.at), zone)}</td><td>${who(r)}</td><td>${r.reason ?? ''}</td><td><code>${r.sha256.slice(0, 12)}</code></td>
${tech ? html`<td>${i === 0 ? 'in force' : html`<form method="post" action="/policy/versions/${r.sha256}/restore">${csrfField(v)}${baseField()}<label for="why-${r.id}">Why go back</label><input id="why-${r.id}" name="reason" required><button type="submit" class="secondary">Restore</button></form>`}</td>` : null}</tr>`)}
</table>`);
  });

  app.post<{ Params: { sha256: string }; Body: { reason: string; base?: string } }>('/policy/versions/:sha256/restore', {
    ...signedIn('technician'),
    schema: { params: { type: 'object', properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } } }, body: { type: 'object', required: ['reason'], properties: { _csrf: { type: 'string', maxLength: 200 }, base: BASE, reason: { type: 'string', minLength: 5, maxLength: 2000 } } } },
  }, async (req, reply) => {
    const row = deps.db.prepare('SELECT text FROM policy_versions WHERE sha256 = ?').get(req.params.sha256) as { text: string } | undefined;
    if (!row) throw new AdminError('not-found', 'There is no such version.');
    const reason = req.body.reason.trim();
    if (reason.length < 5) throw new AdminError('invalid', 'Say why the earlier version comes back: it is kept with the version.', 'reason');
    checkConfigText(deps.source.config.file, row.text);
    if (!deps.applyConfig) throw new AdminError('conflict', 'This Schoolgate cannot change its configuration from the app.');
    await deps.applyConfig(row.text, reason, req.signed!.user.username, req.body.base ?? versionOf(deps.source.config.text));
    return done(req, reply, '/policy/versions', { restored: req.params.sha256 });
  });

  app.get<{ Querystring: { url?: string; group?: string; user?: string; at?: string } }>('/test-url', {
    ...signedIn('technician', 'slt', 'dsl', 'teacher'),
    schema: { querystring: { type: 'object', properties: { url: { type: 'string', maxLength: 4096 }, group: { type: 'string', maxLength: 64 }, user: { type: 'string', maxLength: 64 }, at: { type: 'string', maxLength: 40 } } } },
  }, async (req, reply) => {
    const { config, classifier } = deps.source;
    // Another person's unblocks and overrides (with their reasons) are for approvers and the DSL,
    // not for every teacher: a teacher tests as a group, or as themselves.
    const mayName = req.signed!.user.roles.some((r) => r === 'technician' || r === 'slt' || r === 'dsl');
    const q = { ...req.query, ...(mayName || !req.query.user ? {} : { user: req.signed!.user.username }) };
    const groups = [...config.policy.groups.values()];
    let result = null;
    if (q.url) {
      const group = q.group && config.policy.groups.has(q.group) ? q.group : groups[0]!.id;
      const at = q.at ? instantOf(q.at, config.school.timezone) : now();
      if (at === null) throw new AdminError('invalid', 'The time is not a date and time.', 'at');
      let c;
      try {
        c = classifier.classify(q.url);
      } catch (err) {
        throw new AdminError('invalid', `Not a web address: ${(err as Error).message}`, 'url');
      }
      const chain: TraceStep[] = [];
      const d = decide({ group, ...(q.user ? { user: q.user } : {}) }, c, config.policy, at, chain);
      result = { url: c.url, group, at, action: d.action, categories: d.categories, rule: d.rule.text, unblockBy: d.unblockBy, chain: chain.map((s) => ({ layer: s.layer, said: s.said })) };
    }
    if (!wantsHtml(req)) {
      if (!result) throw new AdminError('invalid', 'Give a url.', 'url');
      return result;
    }
    const v = req.signed!.viewer;
    return sendPage(reply, deps, v, 'Test a URL', html`<form method="get" action="/test-url">
<label for="url">Address</label><input id="url" name="url" value="${q.url ?? ''}" size="60" required>
<label for="group">Group</label><select id="group" name="group">${groups.map((g) => html`<option value="${g.id}"${g.id === q.group ? html` selected` : null}>${g.label}</option>`)}</select>
<label for="user">Person (optional)</label><input id="user" name="user" value="${q.user ?? ''}">
<label for="at">At (school time, optional)</label><input id="at" name="at" type="datetime-local" value="${q.at ?? ''}">
<button type="submit">Test</button></form>
${result ? html`<h2>${result.action.toUpperCase()}</h2><p>${result.rule}</p><p>Categories: ${result.categories.length ? result.categories.join(', ') : 'none'}</p>
${result.unblockBy ? html`<p>${result.unblockBy === 'never' ? 'Illegal content: it can never be unblocked.' : `Can be unblocked on request, by ${result.unblockBy === 'technician' ? 'a technician' : 'a senior leader'}.`}</p>` : null}
<h3>Why, in order of precedence</h3><ol>${result.chain.map((s) => html`<li><strong>${s.layer}</strong>: ${s.said}</li>`)}</ol>` : null}`);
  });
}
