// Technicians' filter levels: the matrix of groups × categories (illegal rows locked), a change
// previewed as what it means for people, saved with a reason as a new configuration version and
// applied without a restart; earlier versions restored the same way. "Test a URL" shows the
// explain output for any URL, group, user and time.
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import { decide } from '../policy/decide.js';
import { instantOf } from '../policy/time.js';
import type { Action, TraceStep } from '../policy/types.js';
import { done, sendPage, wantsHtml, type AdminApp, type AdminDeps } from './app.js';
import { AdminError } from './errors.js';
import { csrfField, html, when } from './html.js';
import { checkConfigText, describeChange, levelOf, withLevels, type LevelChange } from './policy-edit.js';

const ACTIONS: readonly Action[] = ['allow', 'warn', 'block'];
const CHANGE_BODY = {
  type: 'object',
  required: ['reason'],
  properties: { _csrf: { type: 'string', maxLength: 200 }, reason: { type: 'string', maxLength: 2000 }, confirm: { type: 'string', maxLength: 10 } },
  // The cells: level.<group>.<category> = allow | warn | block.
  patternProperties: { '^level\\.[a-z0-9_-]{1,40}\\.[a-z0-9_-]{1,60}$': { enum: ACTIONS } },
  additionalProperties: false,
} as const;

export function registerPolicyRoutes({ app, signedIn }: AdminApp, deps: AdminDeps): void {
  const now = (): Date => deps.now?.() ?? new Date();

  app.get('/policy', { preHandler: signedIn('technician', 'slt', 'governor') }, async (req, reply) => {
    const { config } = deps.source;
    const policy = config.policy;
    const groups = [...policy.groups.values()];
    const categories = config.categories.all();
    const edit = req.signed!.user.roles.includes('technician');
    if (!wantsHtml(req)) {
      return { groups: groups.map((g) => ({ id: g.id, label: g.label, mode: g.mode, levels: Object.fromEntries(categories.map((c) => [c.id, levelOf(policy, g.id, c.id)])) })) };
    }
    const v = req.signed!.viewer;
    const cell = (group: string, category: string) => {
      const action = levelOf(policy, group, category);
      const scheduled = policy.groups.get(group)!.schedules.filter((s) => s.categories.has(category)).map((s) => `${s.name}: ${s.categories.get(category)!.action}`);
      const note = scheduled.length ? html`<br><small class="muted">${scheduled.join('; ')}</small>` : null;
      if (ILLEGAL_CATEGORIES.has(category)) return html`<td class="locked">block (locked)</td>`;
      if (!edit) return html`<td>${action}${note}</td>`;
      return html`<td><select name="level.${group}.${category}" aria-label="${category} for ${group}">${ACTIONS.map((a) => html`<option value="${a}"${a === action ? html` selected` : null}>${a}</option>`)}</select>${note}</td>`;
    };
    const matrix = html`<table><tr><th>Category</th>${groups.map((g) => html`<th>${g.label}${g.mode === 'allowlist' ? html`<br><small class="muted">allow-list only</small>` : null}</th>`)}</tr>
${categories.map((c) => html`<tr><th>${c.id}<br><small class="muted">${c.label}</small></th>${groups.map((g) => cell(g.id, c.id))}</tr>`)}
</table>`;
    const extras = html`<h2>Also in the policy</h2><ul>${groups.map((g) => html`<li>${g.label}: ${g.sites.size} site entr${g.sites.size === 1 ? 'y' : 'ies'} of its own; sites in no category ${g.uncategorised.action}; safe search ${g.safeSearch.engines.size ? [...g.safeSearch.engines].join(', ') : 'off'}</li>`)}</ul>
<p class="muted">Schedules, the school's own site lists, nominated users and safe search are edited in ${config.file} for now; a change there and <code>npx schoolgate lists reload</code> shows here at once.</p>`;
    return sendPage(reply, deps, v, 'Filter levels', edit
      ? html`<form method="post" action="/policy">${csrfField(v)}${matrix}
<label for="reason">Why (kept with this version)</label><textarea id="reason" name="reason" rows="2" required></textarea>
<button type="submit">Preview the change</button></form>${extras}<p><a href="/policy/versions">Earlier versions</a></p>`
      : html`${matrix}${extras}`);
  });

  app.post<{ Body: Record<string, string> }>('/policy', { preHandler: signedIn('technician'), schema: { body: CHANGE_BODY } }, async (req, reply) => {
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
    const candidate = checkConfigText(config.file, text);
    const effects = describeChange(config.policy, candidate.policy, config.categories.all().map((c) => c.id));
    if (req.body.confirm !== 'yes') {
      if (!wantsHtml(req)) return { preview: effects, changes };
      const v = req.signed!.viewer;
      return sendPage(reply, deps, v, 'Check the change', html`<ul>${effects.map((e) => html`<li>${e}</li>`)}</ul>
<p>Reason: ${reason}</p>
<form method="post" action="/policy">${csrfField(v)}<input type="hidden" name="reason" value="${reason}"><input type="hidden" name="confirm" value="yes">
${changes.map((c) => html`<input type="hidden" name="level.${c.group}.${c.category}" value="${c.action}">`)}
<button type="submit">Save and apply</button> <a href="/policy">Cancel</a></form>`);
    }
    if (!deps.applyConfig) throw new AdminError('conflict', 'This Schoolgate cannot change its configuration from the app.');
    await deps.applyConfig(text, reason, req.signed!.user.username);
    deps.log.info({ by: req.signed!.user.username, changes, reason }, 'filter levels changed in the staff app');
    return done(req, reply, '/policy/versions', { applied: effects, changes });
  });

  app.get('/policy/versions', { preHandler: signedIn('technician', 'slt', 'governor') }, async (req, reply) => {
    const rows = deps.db.prepare(`SELECT a.id, a.at, a.actor, json_extract(a.detail, '$.sha256') AS sha256, json_extract(a.detail, '$.reason') AS reason
      FROM audit a WHERE a.action = 'policy.changed' ORDER BY a.id DESC LIMIT 200`).all() as { id: number; at: string; actor: string; sha256: string; reason: string | null }[];
    if (!wantsHtml(req)) return { versions: rows };
    const v = req.signed!.viewer;
    const zone = deps.source.config.school.timezone;
    const tech = req.signed!.user.roles.includes('technician');
    return sendPage(reply, deps, v, 'Configuration versions', html`<p>Newest first; the first row is in force.</p>
<table><tr><th>When</th><th>Who</th><th>Why</th><th>Version</th>${tech ? html`<th></th>` : null}</tr>
${rows.map((r, i) => html`<tr><td>${when(new Date(r.at), zone)}</td><td>${r.actor}</td><td>${r.reason ?? ''}</td><td><code>${r.sha256.slice(0, 12)}</code></td>
${tech ? html`<td>${i === 0 ? 'in force' : html`<form method="post" action="/policy/versions/${r.sha256}/restore">${csrfField(v)}<label for="why-${r.id}">Why go back</label><input id="why-${r.id}" name="reason" required><button type="submit" class="secondary">Restore</button></form>`}</td>` : null}</tr>`)}
</table>`);
  });

  app.post<{ Params: { sha256: string }; Body: { reason: string } }>('/policy/versions/:sha256/restore', {
    preHandler: signedIn('technician'),
    schema: { params: { type: 'object', properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } } }, body: { type: 'object', required: ['reason'], properties: { _csrf: { type: 'string', maxLength: 200 }, reason: { type: 'string', minLength: 5, maxLength: 2000 } } } },
  }, async (req, reply) => {
    const row = deps.db.prepare('SELECT text FROM policy_versions WHERE sha256 = ?').get(req.params.sha256) as { text: string } | undefined;
    if (!row) throw new AdminError('not-found', 'There is no such version.');
    checkConfigText(deps.source.config.file, row.text);
    if (!deps.applyConfig) throw new AdminError('conflict', 'This Schoolgate cannot change its configuration from the app.');
    await deps.applyConfig(row.text, req.body.reason.trim(), req.signed!.user.username);
    return done(req, reply, '/policy/versions', { restored: req.params.sha256 });
  });

  app.get<{ Querystring: { url?: string; group?: string; user?: string; at?: string } }>('/test-url', {
    preHandler: signedIn('technician', 'slt', 'dsl', 'teacher'),
    schema: { querystring: { type: 'object', properties: { url: { type: 'string', maxLength: 4096 }, group: { type: 'string', maxLength: 64 }, user: { type: 'string', maxLength: 64 }, at: { type: 'string', maxLength: 40 } } } },
  }, async (req, reply) => {
    const { config, classifier } = deps.source;
    const q = req.query;
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
${result.unblockBy ? html`<p>${result.unblockBy === 'never' ? 'Illegal content: it can never be unblocked.' : `Can be unblocked on request, by ${result.unblockBy === 'staff' ? 'a technician' : 'a senior leader'}.`}</p>` : null}
<h3>Why, in order of precedence</h3><ol>${result.chain.map((s) => html`<li><strong>${s.layer}</strong>: ${s.said}</li>`)}</ol>` : null}`);
  });
}
