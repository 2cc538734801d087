// A group's own sites, safe search and schedules, and nominated users, changed in the staff app:
// previewed in words, refused with the loader's message when invalid, written to the
// configuration file (the source of truth) and followed by the proxy.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, viaProxy } from '../helpers/proxy.js';
import { api, startStaffApp, type Session, type StaffApp } from '../helpers/staff-app.js';

const tmp = tempDir();
let app: StaffApp;
let tech: Session;
let governor: Session;
let origin: http.Server;
let originPort = 0;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  app = await startStaffApp(tmp.dir, 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  allowPrivate: [127.0.0.0/8]\n  resolve:\n    "*.test": 127.0.0.1\n');
  await app.addUser('it.tech', ['technician']);
  await app.addUser('gov', ['governor']);
  tech = await app.signIn('it.tech');
  governor = await app.signIn('gov');
}, 60_000);

afterAll(async () => {
  await app?.close();
  await closeAll(origin);
  tmp.cleanup();
});

describe('group settings and nominated users in the staff app', () => {
  it('previews, then applies, a blocked site for KS2; the proxy follows and the file says so', async () => {
    const site = `http://quiz.example.test:${originPort}/`;
    expect((await viaProxy(app.proxyPort, site)).status).toBe(200);
    const current = (await api(app, tech, 'GET', '/policy/groups/ks2')).body;
    const body = { 'sites.allow': current.sites.allow.join('\n'), 'sites.block': [...current.sites.block, 'quiz.example.test'].join('\n'), safeSearch: 'true', reason: 'Answers to the test are posted there' };
    const preview = await api(app, tech, 'POST', '/policy/groups/ks2', body);
    expect(preview.status).toBe(200);
    expect(preview.body.preview).toContain('KS2 pupils, sites blocked: added quiz.example.test');
    expect(readFileSync(app.configFile, 'utf8')).not.toContain('quiz.example.test');
    const applied = await api(app, tech, 'POST', '/policy/groups/ks2', { ...body, confirm: 'yes' });
    expect(applied.status).toBe(200);
    expect(readFileSync(app.configFile, 'utf8')).toContain('quiz.example.test');
    expect((await viaProxy(app.proxyPort, site)).status).toBe(403);
    const versions = (await api(app, tech, 'GET', '/policy/versions')).body.versions;
    expect(versions[0]).toMatchObject({ actor: 'it.tech', reason: 'Answers to the test are posted there' });
  });

  it('adds a schedule, and refuses one the loader refuses, with its message and nothing written', async () => {
    const before = readFileSync(app.configFile, 'utf8');
    const bad = await api(app, tech, 'POST', '/policy/groups/ks2', { 'schedule.0.name': 'clubs', 'schedule.0.days': 'someday', 'schedule.0.from': '15:30', 'schedule.0.to': '16:30', 'schedule.0.allow': 'games', reason: 'After-school games club', confirm: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid');
    expect(bad.body.error.message).toMatch(/someday/);
    expect(readFileSync(app.configFile, 'utf8')).toBe(before);
    const current = (await api(app, tech, 'GET', '/policy/groups/ks2')).body;
    const fields: Record<string, string> = { 'sites.block': current.sites.block.join('\n'), 'sites.allow': current.sites.allow.join('\n'), safeSearch: 'true', reason: 'After-school games club' };
    current.schedules.forEach((s: Record<string, string | string[]>, i: number) => {
      for (const k of ['name', 'days', 'from', 'to']) fields[`schedule.${i}.${k}`] = s[k] as string;
      for (const k of ['allow', 'warn', 'block']) fields[`schedule.${i}.${k}`] = (s[k] as string[]).join(', ');
    });
    const n = current.schedules.length;
    Object.assign(fields, { [`schedule.${n}.name`]: 'clubs', [`schedule.${n}.days`]: 'tue', [`schedule.${n}.from`]: '15:30', [`schedule.${n}.to`]: '16:30', [`schedule.${n}.allow`]: 'games' });
    const preview = await api(app, tech, 'POST', '/policy/groups/ks2', fields);
    expect(preview.body.preview).toContain('KS2 pupils, schedules: added "clubs" tue 15:30–16:30 allow games');
    expect((await api(app, tech, 'POST', '/policy/groups/ks2', { ...fields, confirm: 'yes' })).status).toBe(200);
    expect((await api(app, tech, 'GET', '/policy/groups/ks2')).body.schedules.map((s: { name: string }) => s.name)).toContain('clubs');
  });

  it('gives a nominated user their own level, and refuses illegal content and unknown categories', async () => {
    const ok = await api(app, tech, 'POST', '/policy/users', { 'user.0.name': 'j.media', 'user.0.levels': 'video-streaming=allow, social-networking=warn', reason: 'Media studies teacher', confirm: 'yes' });
    expect(ok.status).toBe(200);
    expect((await api(app, tech, 'GET', '/policy/users')).body.users).toMatchObject({ 'j.media': { 'video-streaming': 'allow', 'social-networking': 'warn' } });
    const illegal = await api(app, tech, 'POST', '/policy/users', { 'user.0.name': 'j.media', 'user.0.levels': 'iwf=allow', reason: 'should never be accepted' });
    expect(illegal.status).toBe(422);
    const unknown = await api(app, tech, 'POST', '/policy/users', { 'user.0.name': 'j.media', 'user.0.levels': 'gamez=allow', reason: 'typo in a category' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('gamez');
  });

  it('lets a governor read group settings but not change them', async () => {
    expect((await api(app, governor, 'GET', '/policy/groups/ks2')).status).toBe(200);
    expect((await api(app, governor, 'GET', '/policy/users')).status).toBe(200);
    expect((await api(app, governor, 'POST', '/policy/groups/ks2', { reason: 'not allowed to do this' })).body.error.code).toBe('forbidden');
    expect((await api(app, governor, 'POST', '/policy/users', { reason: 'not allowed to do this' })).body.error.code).toBe('forbidden');
  });

  it('checks who is asking before it reads what they sent', async () => {
    expect((await api(app, null, 'GET', '/reports/unblocks?from=not-a-date')).body.error.code).toBe('not-signed-in');
    expect((await api(app, governor, 'POST', '/policy', { 'level.nope': 'maybe' })).body.error.code).toBe('forbidden');
  });

  it('never loses a change: of two saves made from the same page at once, one applies and the other is told to start again', async () => {
    const base = createHash('sha256').update(readFileSync(app.configFile, 'utf8')).digest('hex');
    const [a, b] = await Promise.all([
      api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow', reason: 'Games club this week', base, confirm: 'yes' }),
      api(app, tech, 'POST', '/policy', { 'level.ks2.shopping': 'allow', reason: 'Enterprise week shopping', base, confirm: 'yes' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const won = a.status === 200 ? 'games' : 'shopping';
    const lost = won === 'games' ? 'shopping' : 'games';
    const file = readFileSync(app.configFile, 'utf8');
    const levels = (await api(app, tech, 'GET', '/policy')).body.groups.find((g: { id: string }) => g.id === 'ks2').levels;
    expect(levels[won]).toBe('allow');
    expect(levels[lost]).toBe('block');
    expect(file).toMatch(new RegExp(`\\n\\s+${won}: allow`));
    // A form from before that save is stale too.
    const stale = await api(app, tech, 'POST', '/policy', { [`level.ks2.${lost}`]: 'allow', reason: 'Made on the old page', base, confirm: 'yes' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('conflict');
  });

  it('refuses a change while the file holds a hand edit that is not loaded yet, and keeps the hand edit', async () => {
    const running = readFileSync(app.configFile, 'utf8');
    const edited = `${running}\n# edited by hand, not reloaded\n`;
    writeFileSync(app.configFile, edited);
    try {
      const res = await api(app, tech, 'POST', '/policy', { 'level.ks2.chat': 'warn', reason: 'Chat for the pen-pal project', confirm: 'yes' });
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/lists reload/);
      expect(readFileSync(app.configFile, 'utf8')).toBe(edited);
    } finally {
      writeFileSync(app.configFile, running);
    }
  });
});
