// Who changed the configuration, over real HTTP, a real SQLite file and the running list service
// (which records every configuration a reload swaps in, as `schoolgate start` wires it): a
// technician's change is theirs, with their reason, in the audit chain and on the versions page,
// whichever reload swaps it in; a hand edit is recorded as edited on the server, never as the
// app's; and the save itself changes only the line of the cell that changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configApplier, levelOf, versionOf } from '../../src/admin/policy-edit.js';
import { AdminError } from '../../src/admin/errors.js';
import { AuditLog, type AuditRow } from '../../src/store/audit.js';
import { lineDiff } from '../helpers/line-diff.js';
import { tempDir } from '../helpers/lists.js';
import { SERVER_ACCOUNT, startStaffApp, type Session, type StaffApp } from '../helpers/staff-app.js';
import { getPage, postForm, PROXY_YAML } from './api-helpers.js';

const tmp = tempDir();
let app: StaffApp;
let tech: Session;
let governor: Session;

beforeAll(async () => {
  app = await startStaffApp(tmp.dir, PROXY_YAML);
  await app.addUser('it.tech', ['technician']);
  await app.addUser('gov', ['governor']);
  tech = await app.signIn('it.tech');
  governor = await app.signIn('gov');
}, 60_000);

afterAll(async () => {
  await app?.close();
  tmp.cleanup();
});

const lastChange = (): AuditRow => new AuditLog(app.db).list({ action: 'policy.changed', limit: 1 })[0]!;
const changesBy = (actor: string): AuditRow[] => new AuditLog(app.db).list({ action: 'policy.changed', actor });
const claims = (): unknown[] => app.db.prepare('SELECT * FROM policy_claims').all();
/** The cells of the versions page's newest row (the one in force), as text. */
async function newestVersionRow(): Promise<string> {
  const page = await getPage(app, governor, '/policy/versions');
  expect(page.status).toBe(200);
  return page.body.split('<tr>')[2]!.split('</tr>')[0]!;
}
const ks2Level = (category: string): string => levelOf(app.service.config.policy, 'ks2', category);

describe('a change made in the staff app', () => {
  it('is recorded as the technician, with their reason, in the audit chain and on the versions page; the file changes by one line', async () => {
    const before = readFileSync(app.configFile, 'utf8');
    const action = ks2Level('games') === 'block' ? 'allow' : 'block';
    const reason = 'Golden time games all week in the last week of term';
    const form = { _csrf: tech.csrf, base: versionOf(before), 'level.ks2.games': action, reason };
    // The form, previewed and then confirmed, as a browser sends it.
    const preview = await postForm(app, tech, '/policy', form);
    expect(preview.status).toBe(200);
    const saved = await postForm(app, tech, '/policy', { ...form, confirm: 'yes' });
    expect(saved).toMatchObject({ status: 303, location: '/policy/versions' });
    expect(ks2Level('games')).toBe(action);

    const row = lastChange();
    expect(row.actor).toBe('it.tech');
    expect(row.detail).toMatchObject({ source: 'staff-app', reason, sha256: versionOf(readFileSync(app.configFile, 'utf8')), previous: versionOf(before) });
    expect(changesBy(SERVER_ACCOUNT).map((r) => r.detail.sha256)).not.toContain(row.detail.sha256);
    expect(new AuditLog(app.db).verify()).toMatchObject({ ok: true });
    expect(claims()).toEqual([]);

    const newest = await newestVersionRow();
    expect(newest).toContain('<td>it.tech</td>');
    expect(newest).toContain(`<td>${reason}</td>`);
    expect(newest).not.toContain(SERVER_ACCOUNT);

    // Only the games line of KS2's levels changed.
    const d = lineDiff(before, readFileSync(app.configFile, 'utf8'));
    expect(d.removed).toHaveLength(1);
    expect(d.added).toHaveLength(1);
    expect(d.added[0]!.text.trim()).toBe(`games: ${action}`);
    expect(d.removed[0]!.line).toBe(d.added[0]!.line);
  });

  it('a version restored is recorded as the technician who restored it, with their reason', async () => {
    const previous = lastChange().detail.previous as string;
    const res = await postForm(app, tech, `/policy/versions/${previous}/restore`, { _csrf: tech.csrf, base: versionOf(app.service.config.text), reason: 'The club was cancelled' });
    expect(res.status).toBe(303);
    expect(lastChange()).toMatchObject({ actor: 'it.tech', detail: { sha256: previous, source: 'staff-app', reason: 'The club was cancelled' } });
    expect(await newestVersionRow()).toContain('<td>it.tech</td><td>The club was cancelled</td>');
  });
});

describe('a hand edit of the file on the server', () => {
  it('picked up on reload, is recorded as edited on the server, not as the last person to use the app', async () => {
    const text = readFileSync(app.configFile, 'utf8');
    const edited = `${text}\n# Checked by the technician on the server.\n`;
    writeFileSync(app.configFile, edited);
    expect(await app.service.reload('SIGHUP')).toBe(true);
    const row = lastChange();
    expect(row.actor).toBe(SERVER_ACCOUNT);
    expect(row.detail).toEqual({ sha256: versionOf(edited), previous: versionOf(text), file: app.service.config.file, source: 'server' });
    const newest = await newestVersionRow();
    expect(newest).toContain('Edited on the server');
    expect(newest).toContain(`loaded by ${SERVER_ACCOUNT}`);
    expect(newest).not.toContain('it.tech');
  });
});

describe('whichever reload swaps a change in', () => {
  const real = (): StaffApp['service'] => app.service;

  it('a reload that someone else asked for (SIGHUP) and that runs first still records the technician', async () => {
    // The app's reload folds into a SIGHUP reload that starts first and reads the new file.
    const service = { get config() { return real().config; }, reload: (why: string) => { void real().reload('SIGHUP'); return real().reload(why); } };
    const apply = configApplier(service, app.db);
    const text = readFileSync(app.configFile, 'utf8').replace(/\n$/, '\n# A change from the app.\n');
    await apply(text, 'Tidying the configuration', 'it.tech', versionOf(app.service.config.text));
    expect(app.service.config.text).toBe(text);
    expect(lastChange()).toMatchObject({ actor: 'it.tech', detail: { sha256: versionOf(text), source: 'staff-app', reason: 'Tidying the configuration' } });
    expect(claims()).toEqual([]);
  });

  it('a hand edit that lands while the app saves is the server\'s, and the app\'s change is refused, never recorded as the technician\'s', async () => {
    const start = readFileSync(app.configFile, 'utf8');
    const hand = `${start}# Edited by hand while the app was saving.\n`;
    // Between the app writing the file and the reload reading it, someone saves their own edit.
    const service = { get config() { return real().config; }, reload: (why: string) => { writeFileSync(app.configFile, hand); return real().reload(why); } };
    const apply = configApplier(service, app.db);
    const mine = `${start}# The app's change.\n`;
    const refused = await apply(mine, 'A change that is overtaken', 'it.tech', versionOf(start)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AdminError);
    expect((refused as AdminError).code).toBe('conflict');
    expect(app.service.config.text).toBe(hand);
    expect(lastChange()).toMatchObject({ actor: SERVER_ACCOUNT, detail: { sha256: versionOf(hand), source: 'server' } });
    expect(changesBy('it.tech').some((r) => r.detail.sha256 === versionOf(mine) || r.detail.sha256 === versionOf(hand))).toBe(false);
    expect(claims()).toEqual([]);
  });
});
