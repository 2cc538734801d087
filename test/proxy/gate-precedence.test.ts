// Every rule of precedence the gate applies, as tables of facts and verdicts with no sockets: for
// each pair of adjacent steps (src/proxy/gate.ts's header, policy/decide.ts's layers,
// tls/intercept.ts's order), a case where both would apply and the earlier one must win, beside
// the case where only the later one applies. Inputs are real: the shipped config/default.yaml
// through the config loader, with a few settings changed, and a classifier loaded by the
// project's list loader from small synthetic lists. Times are instants; Europe/London is GMT
// in November.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/alerts/detect.js';
import { ExclusionSet } from '../../src/alerts/exclusions.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { editYaml } from '../../src/config/yaml-edit.js';
import { loadLists } from '../../src/lists/load.js';
import { withUnblocks } from '../../src/policy/compile.js';
import type { Unblock } from '../../src/policy/types.js';
import type { HelloResult } from '../../src/proxy/client-hello.js';
import {
  judgeConnect, judgeRequest, judgeTunnel, targetOf,
  type ConnectVerdict, type GateMemory, type GateSnapshot, type Identity, type Interception, type RequestVerdict, type TunnelVerdict,
} from '../../src/proxy/gate.js';
import { takeSnapshot } from '../../src/proxy/live-snapshot.js';
import { tempDir, writeLists, type TestList } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const CA: Interception = { context: () => { throw new Error('no certificates in table tests'); }, caCertPem: '' };
const TUE = Date.parse('2026-11-17T10:00Z'); // the KS2 "club" schedule is open (Tuesday 09:00-11:00)
const TUE_AFTER = Date.parse('2026-11-17T11:30Z'); // no schedule open
const TUE_LUNCH = Date.parse('2026-11-17T12:30Z'); // staff lunch
const FRI_GOLDEN = Date.parse('2026-11-20T14:45Z'); // KS2 golden time
const ADDRESS = '10.0.0.5';
const USER = 'pt.user'; // a nominated user (policy.users), in KS2

/** Synthetic lists: one category each, some hosts in two; the self-test list (*.selftest.invalid) is always loaded too. */
const LISTS: (TestList & { category: string })[] = [
  { name: 'pt-games', category: 'games', files: { domains: 'play.example.test\nboth.example.test\ngolden-blocked.example.test\n' } },
  { name: 'pt-education', category: 'education', files: { domains: 'learn.example.test\nboth.example.test\n' } },
  { name: 'pt-adult', category: 'adult', files: { domains: 'adult.example.test\nadult.parent.example.test\ndark.example.test\n' } },
  { name: 'pt-suicide', category: 'suicide', files: { domains: 'suicide.example.test\ndark.example.test\n' } },
  { name: 'pt-finance', category: 'finance', files: { domains: 'bank.example.test\n' } },
  { name: 'pt-video', category: 'video-streaming', files: { domains: 'video.example.test\n' } },
  { name: 'pt-social', category: 'social-networking', files: { domains: 'social.example.test\n' } },
  // The school's own lists. An allow entry for an illegal host must change nothing.
  { name: 'pt-school-allow', category: 'education', role: 'allow', files: { domains: 'parent.example.test\niwf.selftest.invalid\n', urls: 'play.example.test/maths\n' } },
  { name: 'pt-school-block', category: 'school-blocked', role: 'block', files: { domains: 'blocked.example.test\ngolden-blocked.example.test\nuserblocked.example.test\n' } },
];

/** The shipped policy with a nominated user, a KS2 site list and schedule, and a group HTTPS inspection never names. */
function policyOverrides(): string {
  const edited = editYaml(readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8'), (doc) => {
    doc.setIn(['policy', 'users'], doc.createNode({
      [USER]: {
        levels: { games: 'allow', 'video-streaming': 'block' },
        sites: { allow: ['blocked.example.test', 'iwf.selftest.invalid', 'video.example.test/mine'], block: ['userblocked.example.test', 'learn.example.test'] },
      },
    }));
    doc.setIn(['policy', 'groups', 'ks2', 'sites'], doc.createNode({ allow: ['adult.example.test/biology'], block: ['video.example.test/banned'] }));
    doc.addIn(['policy', 'groups', 'ks2', 'schedules'], doc.createNode({
      name: 'club', days: 'tue', from: '09:00', to: '11:00', allow: ['blocked.example.test', 'video.example.test/lessons'], block: ['video-streaming', 'play.example.test'],
    }));
    doc.setIn(['policy', 'groups', 'visitor'], doc.createNode({ label: 'Visitors', like: 'guest' }));
  });
  const section = /^policy:\n(?:(?: .*)?\n)*/m.exec(edited);
  if (!section) throw new Error('no policy section in default.yaml');
  return section[0];
}

let config: SchoolgateConfig;
let classifier: Classifier;

beforeAll(async () => {
  const listDir = join(tmp.dir, 'lists');
  writeLists(listDir, LISTS);
  writeFileSync(join(tmp.dir, 'never.yaml'), 'categories: [finance]\nsites:\n  - never.example.test\n');
  const sources = LISTS.map((l) => `    - { name: ${l.name}, format: list, path: ${join(listDir, l.name)}, category: ${l.category}, role: ${l.role ?? 'category'} }\n`).join('');
  config = loadConfig(writeTestConfig(tmp.dir, `${policyOverrides()}lists:
  sources:
${sources}proxy:
  connectPorts: [443, 8443]
  blockIpTunnels: [ks2]
  requireTls: [ks2]
tls:
  intercept:
    ks1: { categories: all }
    ks2:
      categories: [games]
      sites: [site.example.test, never.example.test]
    staff: { categories: all }
    guest:
      sites: [site.example.test]
      blockPages: false
      searchEngines: false
  neverIntercept: ${join(tmp.dir, 'never.yaml')}
  pinning: { devices: 3, withinMinutes: 10, bypassMinutes: 60, groups: [staff] }
`));
  ({ classifier } = await loadLists(config, { dataDir: join(tmp.dir, 'data') }));
});

// ---------------------------------------------------------------- facts

/**
 * The one place a test snapshot is made: the loaded config and classifier, with or without the
 * school's CA, and with the unblocks in force.
 */
function snapshot(o: { readonly ca?: boolean; readonly unblocks?: readonly Unblock[] } = {}): GateSnapshot {
  const policy = o.unblocks === undefined ? config.policy : withUnblocks(config.policy, o.unblocks);
  return takeSnapshot({ config: policy === config.policy ? config : { ...config, policy }, classifier }, o.ca === false ? null : CA);
}

const UNBLOCK_FROM = new Date('2026-11-01T00:00Z');
const UNBLOCK_UNTIL = new Date('2026-12-01T00:00Z');
function unblock(site: string, target: Unblock['target']): Unblock {
  return { id: `u-${site}`, site, target, from: UNBLOCK_FROM, until: UNBLOCK_UNTIL, approvedBy: 'it.technician', reason: 'a lesson' };
}
const forKs2 = (site: string): Unblock => unblock(site, { kind: 'group', group: 'ks2' });
const forUser = (site: string): Unblock => unblock(site, { kind: 'user', user: USER });

/** The proxy's memories, as a row states them. */
function memory(o: { continued?: readonly string[]; bypassed?: readonly string[] } = {}): GateMemory {
  return {
    continued: (who, host) => (o.continued ?? []).includes(`${who} ${host}`),
    pinBypassed: (host) => (o.bypassed ?? []).includes(host),
  };
}
const clickedThrough = (host: string): GateMemory => memory({ continued: [`address:${ADDRESS} ${host}`] });

const known = (group: string, user?: string): Identity => ({ kind: 'known', group, ...(user === undefined ? {} : { user }) });
const REFUSED: Identity = { kind: 'refused', status: 407, headers: { 'proxy-authenticate': 'Basic realm="Schoolgate"' }, body: 'Sign in.\n' };

// ---------------------------------------------------------------- requests

interface RequestRow {
  readonly rule?: string;
  readonly url: string;
  readonly group?: string;
  readonly who?: Identity;
  readonly at?: number;
  readonly method?: string;
  readonly headers?: readonly string[];
  readonly via?: string;
  readonly upgrade?: boolean;
  readonly tunnel?: { host: string; port: number };
  readonly memory?: GateMemory;
  readonly unblocks?: readonly Unblock[];
  readonly want?: string;
}

/** Steps 1 and 2 as the shell runs them: targetOf, then judgeRequest for a site. */
function request(r: RequestRow): { summary: string; verdict: RequestVerdict | null } {
  const snap = snapshot({ ...(r.unblocks ? { unblocks: r.unblocks } : {}), ca: r.tunnel !== undefined });
  const method = r.method ?? 'GET';
  const t = targetOf(snap, { method, target: r.url, httpVersionMajor: 1, via: r.via, upgrade: r.upgrade ?? false, tunnel: r.tunnel });
  if (t.kind === 'own') return { summary: `own:${t.path}`, verdict: null };
  if (t.kind === 'plain') return { summary: `plain:${t.status}`, verdict: null };
  const headers = [...(r.headers ?? ['Host', t.url.host])];
  const value = (name: string): string | undefined => {
    const i = headers.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === name);
    return i < 0 ? undefined : headers[i + 1];
  };
  const v = judgeRequest(snap, {
    site: t, who: r.who ?? known(r.group ?? 'ks2'), address: ADDRESS, method, httpVersion: '1.1', rawHeaders: headers,
    contentLength: value('content-length'), transferEncoding: value('transfer-encoding'), upgrade: r.upgrade ?? false, memory: r.memory ?? memory(),
  }, r.at ?? TUE);
  return { summary: summarise(v), verdict: v };
}

/** The act, and the rule kind that decided it (or the status of the proxy's own answer). */
function summarise(v: RequestVerdict): string {
  const a = v.act;
  if (a.kind === 'forward') return `forward:${v.record!.decision!.rule.kind}`;
  if (a.kind === 'block' || a.kind === 'warn') return `${a.kind}:${a.decision.rule.kind}`;
  return `${a.kind}:${a.status}`;
}

const WS = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
const H2C = ['Connection', 'Upgrade', 'Upgrade', 'h2c'];

describe('judgeRequest: each step beats the next', () => {
  it.each<RequestRow>([
    // 1 before 2: what needs no identity is answered first, even for an illegal host.
    { rule: '1 loop detected before sign-in and policy', url: 'http://iwf.selftest.invalid/', who: REFUSED, via: '1.1 schoolgate', want: 'plain:508' },
    { rule: '1 https:// named to a proxy before policy', url: 'https://iwf.selftest.invalid/', want: 'plain:400' },
    { rule: '1 own pages before sign-in', url: 'http://schoolgate.invalid/blocked?u=x', who: REFUSED, want: 'own:/blocked?u=x' },
    { rule: '1 own pages inside a decrypted tunnel', url: '/anything', tunnel: { host: 'schoolgate.invalid', port: 443 }, who: REFUSED, want: 'own:/anything' },
    // 2a before 2b: a refused sign-in beats the illegal list (and everything after it).
    { rule: '2a refused sign-in beats an illegal-list block', url: 'http://iwf.selftest.invalid/', who: REFUSED, want: 'sign-in:407' },
    { rule: '2a refused sign-in beats a private address', url: 'http://127.0.0.1/', who: REFUSED, want: 'sign-in:407' },
    { rule: '2b illegal list once signed in', url: 'http://iwf.selftest.invalid/', group: 'staff', want: 'block:illegal' },
    // 2b, decide() layer 1 before 2-6.
    { rule: 'decide 1 illegal beats an unblock', url: 'http://iwf.selftest.invalid/', unblocks: [forKs2('iwf.selftest.invalid')], want: 'block:illegal' },
    { rule: 'decide 1 illegal beats a user\'s site allow', url: 'http://iwf.selftest.invalid/', who: known('ks2', USER), want: 'block:illegal' },
    { rule: 'decide 1 illegal beats the school allow list', url: 'http://iwf.selftest.invalid/', group: 'staff', want: 'block:illegal' },
    { rule: 'decide 1 illegal beats an unknown group', url: 'http://iwf.selftest.invalid/', group: 'nobody', want: 'block:illegal' },
    { rule: 'decide 0 an unknown group is blocked', url: 'http://learn.example.test/', group: 'nobody', want: 'block:default' },
    // Layer 2 before 3-6.
    { rule: 'decide 2 unblock beats a user\'s site block', url: 'http://userblocked.example.test/', who: known('ks2', USER), unblocks: [forUser('userblocked.example.test')], want: 'forward:unblock' },
    { rule: 'decide 2 unblock beats the school block list', url: 'http://blocked.example.test/', unblocks: [forKs2('blocked.example.test')], want: 'forward:unblock' },
    { rule: 'decide 2 unblock beats a schedule', url: 'http://play.example.test/', unblocks: [forKs2('play.example.test')], want: 'forward:unblock' },
    { rule: 'decide 2 unblock beats the group level', url: 'http://adult.example.test/', unblocks: [forKs2('adult.example.test')], want: 'forward:unblock' },
    { rule: 'decide 2 unblock is for its group only', url: 'http://adult.example.test/', group: 'guest', unblocks: [forKs2('adult.example.test')], want: 'block:level' },
    { rule: 'decide 2 unblock of a parent does not open a host listed apart', url: 'http://adult.parent.example.test/', unblocks: [forKs2('parent.example.test')], want: 'block:level' },
    { rule: 'decide 2 unblock out of its window', url: 'http://adult.example.test/', at: UNBLOCK_UNTIL.getTime(), unblocks: [forKs2('adult.example.test')], want: 'block:level' },
    // Layer 3 before 4-6: the user's sites, then the user's categories.
    { rule: 'decide 3 user site allow beats the school block list', url: 'http://blocked.example.test/', who: known('ks2', USER), at: TUE_AFTER, want: 'forward:user' },
    { rule: 'decide 3 user site block beats the category level', url: 'http://learn.example.test/', who: known('ks2', USER), want: 'block:user' },
    { rule: 'decide 3 user site allow beats the user\'s own category block', url: 'http://video.example.test/mine/1', who: known('ks2', USER), at: TUE_AFTER, want: 'forward:user' },
    { rule: 'decide 3 user category level beats the group level', url: 'http://play.example.test/', who: known('ks2', USER), at: TUE_AFTER, want: 'forward:user' },
    { rule: 'decide 3 user category level beats the group level (block)', url: 'http://video.example.test/', who: known('ks2', USER), at: TUE_AFTER, want: 'block:user' },
    // Two rows that show the user layer as it is, not as README "Policy" orders it (reported to
    // the lead, not changed here): when the user's category levels decide, schedules' site
    // entries (layer 5) still come first, while the site lists (layer 4) are skipped, and the
    // site-list block is then logged as the group's default.
    { rule: 'decide 3/5 AS IS: a schedule\'s site entry beats the user\'s category level', url: 'http://play.example.test/', who: known('ks2', USER), at: TUE, want: 'block:schedule' },
    { rule: 'decide 3/4 AS IS: the user\'s category level opens a school-blocked site, logged as default', url: 'http://golden-blocked.example.test/', who: known('ks2', USER), at: TUE_AFTER, want: 'forward:default' },
    { rule: 'decide 3 only for that user', url: 'http://play.example.test/', who: known('ks2', 'someone.else'), at: TUE_AFTER, want: 'block:level' },
    // Layer 4 before 5-6, where the site entry is at least as specific as the category entry.
    { rule: 'decide 4 school block list beats an open schedule', url: 'http://golden-blocked.example.test/', at: FRI_GOLDEN, want: 'block:site-list' },
    { rule: 'decide 4 school block list beats a schedule site allow', url: 'http://blocked.example.test/', at: TUE, want: 'block:site-list' },
    { rule: 'decide 4 school allow (more specific) beats the level', url: 'http://play.example.test/maths/sums', at: TUE_AFTER, want: 'forward:site-list' },
    { rule: 'decide 4 school allow (more specific) beats a schedule site block', url: 'http://play.example.test/maths/sums', at: TUE, want: 'forward:site-list' },
    { rule: 'decide 4 school allow less specific than a category entry passes it on', url: 'http://adult.parent.example.test/', want: 'block:level' },
    { rule: 'decide 4 school allow where no category entry is more specific', url: 'http://parent.example.test/', want: 'forward:site-list' },
    { rule: 'decide 4 group site allow (more specific) beats the level', url: 'http://adult.example.test/biology/cells', want: 'forward:site-list' },
    { rule: 'decide 4 group site block beats the level', url: 'http://video.example.test/banned', at: TUE_AFTER, want: 'block:site-list' },
    // Layer 5 before 6: schedule sites, then schedule categories, then the level.
    { rule: 'decide 5 schedule site allow beats a schedule category block', url: 'http://video.example.test/lessons/1', at: TUE, want: 'forward:schedule' },
    { rule: 'decide 5 schedule category block beats the level', url: 'http://video.example.test/', at: TUE, want: 'block:schedule' },
    { rule: 'decide 5 schedule site block beats the level', url: 'http://play.example.test/', at: TUE, want: 'block:schedule' },
    { rule: 'decide 5 schedule category allow beats the level', url: 'http://play.example.test/', at: FRI_GOLDEN, want: 'forward:schedule' },
    { rule: 'decide 6 the level once the schedule closes', url: 'http://video.example.test/', at: TUE_AFTER, want: 'forward:level' },
    // Layer 6: the level, then the default; several categories: the most restrictive.
    { rule: 'decide 6 most restrictive category wins', url: 'http://both.example.test/', at: TUE_AFTER, want: 'block:level' },
    { rule: 'decide 6 block beats warn across categories', url: 'http://dark.example.test/', group: 'staff', want: 'block:level' },
    { rule: 'decide 6 warn beats allow across categories', url: 'http://both.example.test/', group: 'staff', want: 'warn:level' },
    { rule: 'decide 6 allow-list group: other categories blocked', url: 'http://both.example.test/', group: 'ks1', want: 'block:default' },
    { rule: 'decide 6 uncategorised: the group default', url: 'http://site.example.test/', want: 'forward:default' },
    { rule: 'decide 6 uncategorised in an allow-list group', url: 'http://site.example.test/', group: 'ks1', want: 'block:default' },
    // 2c: block before warn's click-through; warn before forwarding.
    { rule: '2c block beats a remembered warn click-through', url: 'http://adult.example.test/', group: 'staff', memory: clickedThrough('adult.example.test'), want: 'block:level' },
    { rule: '2c warn page until clicked through', url: 'http://suicide.example.test/', group: 'staff', want: 'warn:level' },
    { rule: '2c warn clicked through is forwarded', url: 'http://suicide.example.test/', group: 'staff', memory: clickedThrough('suicide.example.test'), want: 'forward:level' },
    // 2c before 2d: a block on a private literal address is the policy's block page.
    { rule: '2c block beats the private-address refusal', url: 'http://127.0.0.1/', group: 'ks1', want: 'block:default' },
    { rule: '2d private literal address once allowed', url: 'http://127.0.0.1/', want: 'plain:403' },
    { rule: '2d private IPv6 literal', url: 'http://[::1]:8080/', want: 'plain:403' },
    { rule: '2d localhost by name', url: 'http://localhost/', group: 'staff', want: 'plain:403' },
    // 2d before 2e; 2c before 2e.
    { rule: '2d private address beats Max-Forwards 0', url: 'http://10.1.2.3/', method: 'OPTIONS', headers: ['Max-Forwards', '0'], want: 'plain:403' },
    { rule: '2c block beats Max-Forwards 0', url: 'http://adult.example.test/', method: 'OPTIONS', headers: ['Max-Forwards', '0'], want: 'block:level' },
    { rule: '2e OPTIONS Max-Forwards 0 answered by the proxy', url: 'http://site.example.test/', method: 'OPTIONS', headers: ['Max-Forwards', '0'], want: 'plain:200' },
    { rule: '2e TRACE Max-Forwards 0 refused by the proxy', url: 'http://site.example.test/', method: 'TRACE', headers: ['Max-Forwards', '0'], want: 'plain:405' },
    { rule: '2e Max-Forwards 1 is forwarded', url: 'http://site.example.test/', method: 'OPTIONS', headers: ['Max-Forwards', '1'], want: 'forward:default' },
    { rule: '2e GET with Max-Forwards 0 is forwarded', url: 'http://site.example.test/', headers: ['Max-Forwards', '0'], want: 'forward:default' },
    // 2e before 2f; 2c and 2d before 2f.
    { rule: '2e Max-Forwards 0 beats a non-WebSocket upgrade', url: 'http://site.example.test/', method: 'OPTIONS', upgrade: true, headers: [...H2C, 'Max-Forwards', '0'], want: 'plain:200' },
    { rule: '2c block beats the non-WebSocket refusal', url: 'ws://adult.example.test/', upgrade: true, headers: H2C, want: 'block:level' },
    { rule: '2d private address beats the non-WebSocket refusal', url: 'ws://127.0.0.1/', upgrade: true, headers: H2C, want: 'plain:403' },
    { rule: '2f non-WebSocket upgrade refused', url: 'http://site.example.test/', upgrade: true, headers: H2C, want: 'plain:400' },
    { rule: '2f WebSocket upgrade with a body refused', url: 'ws://site.example.test/', upgrade: true, headers: [...WS, 'Content-Length', '4'], want: 'plain:400' },
    { rule: '2f WebSocket upgrade with a chunked body refused', url: 'ws://site.example.test/', upgrade: true, headers: [...WS, 'Transfer-Encoding', 'chunked'], want: 'plain:400' },
    { rule: '2g WebSocket upgrade forwarded', url: 'ws://site.example.test/', upgrade: true, headers: WS, want: 'forward:default' },
    { rule: '2g request with a body forwarded', url: 'http://site.example.test/', method: 'POST', headers: ['Content-Length', '4'], want: 'forward:default' },
  ])('$rule: $url → $want', (r) => {
    expect(request(r).summary).toBe(r.want);
  });
});

describe('judgeRequest: what the verdict carries', () => {
  const forwarded = (r: RequestRow) => {
    const v = request(r).verdict!;
    if (v.act.kind !== 'forward') throw new Error(`${r.url} was not forwarded: ${v.act.kind}`);
    return v.act.to;
  };

  it.each<[string, string, number, string | null]>([
    // [url, group, instant, who may unblock]: illegal never (whatever else holds), then the
    // senior leaders' categories (policy.sltApproval), then a technician; nobody for an allow.
    ['http://iwf.selftest.invalid/', 'staff', TUE, 'never'],
    ['http://iwf.selftest.invalid/', 'nobody', TUE, 'never'],
    ['http://dark.example.test/', 'staff', TUE, 'slt'],
    ['http://suicide.example.test/', 'staff', TUE, 'slt'],
    ['http://adult.example.test/', 'ks2', TUE, 'slt'],
    ['http://play.example.test/', 'ks2', TUE_AFTER, 'technician'],
    ['http://blocked.example.test/', 'ks2', TUE_AFTER, 'technician'],
    ['http://learn.example.test/', 'nobody', TUE, 'technician'],
    ['http://site.example.test/', 'ks2', TUE, null],
  ])('who may unblock %s for %s: %s', (url, group, at, want) => {
    expect(request({ url, group, at }).verdict!.record!.decision!.unblockBy).toBe(want);
  });

  it('the decided host is the one forwarded to, whatever the Host header says', () => {
    const to = forwarded({ url: 'http://site.example.test:8080/a?b=1', headers: ['Host', 'adult.example.test', 'Accept', '*/*'] });
    expect(to).toMatchObject({ scheme: 'http', host: 'site.example.test', port: 8080, path: '/a?b=1' });
    expect(to.headers.slice(0, 2)).toEqual(['Host', 'site.example.test:8080']);
    expect(to.headers.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')).toHaveLength(1);
  });

  interface RowCase { readonly rule: string; readonly row: RequestRow; readonly outcome: { action: string; ruleKind: string }; readonly fields: Record<string, unknown> }
  it.each<RowCase>([
    { rule: 'a forwarded request: its path and categories', row: { url: 'http://play.example.test/x?y=1', at: FRI_GOLDEN },
      outcome: { action: 'allow', ruleKind: 'schedule' }, fields: { group: 'ks2', user: null, method: 'GET', scheme: 'http', host: 'play.example.test', path: '/x?y=1', categories: 'games' } },
    { rule: 'a signed-in person\'s row names them', row: { url: 'http://site.example.test/x?secret=1', who: known('staff', 'j.teacher') },
      outcome: { action: 'allow', ruleKind: 'default' }, fields: { group: 'staff', user: 'j.teacher', host: 'site.example.test', categories: '' } },
    { rule: 'an illegal block', row: { url: 'http://iwf.selftest.invalid/', group: 'staff' },
      outcome: { action: 'block', ruleKind: 'illegal' }, fields: { host: 'iwf.selftest.invalid', categories: expect.stringContaining('iwf') } },
    { rule: 'a warn shown', row: { url: 'http://suicide.example.test/', group: 'staff' },
      outcome: { action: 'warn', ruleKind: 'level' }, fields: { categories: 'suicide' } },
    { rule: 'a warn clicked through is logged as continued', row: { url: 'http://suicide.example.test/', group: 'staff', memory: clickedThrough('suicide.example.test') },
      outcome: { action: 'continued', ruleKind: 'level' }, fields: { categories: 'suicide' } },
    { rule: 'a private address is the proxy\'s refusal', row: { url: 'http://127.0.0.1/' },
      outcome: { action: 'refused', ruleKind: 'proxy' }, fields: { host: '127.0.0.1' } },
    { rule: 'an upgrade is logged as ws', row: { url: 'ws://site.example.test/chat', upgrade: true, headers: WS },
      outcome: { action: 'allow', ruleKind: 'default' }, fields: { scheme: 'ws', path: '/chat' } },
    { rule: 'inside a decrypted tunnel: https', row: { url: '/p', tunnel: { host: 'site.example.test', port: 443 } },
      outcome: { action: 'allow', ruleKind: 'default' }, fields: { scheme: 'https', host: 'site.example.test', path: '/p' } },
    { rule: 'an upgrade inside a decrypted tunnel: wss', row: { url: '/chat', tunnel: { host: 'site.example.test', port: 443 }, upgrade: true, headers: WS },
      outcome: { action: 'allow', ruleKind: 'default' }, fields: { scheme: 'wss' } },
  ])('traffic row: $rule', ({ row, outcome, fields }) => {
    const rec = request(row).verdict!.record!;
    expect(rec.outcome).toMatchObject(outcome);
    expect(rec.row(17)).toMatchObject({ client: ADDRESS, alert: 17, ...fields });
  });

  it('a staff row keeps no query (and so no search term)', () => {
    const rec = request({ url: 'http://www.google.test/search?q=private+matter', who: known('staff', 'j.teacher') }).verdict!.record!;
    expect(rec.classification.searchTerm?.raw).toBe('private matter');
    const row = rec.row(null);
    expect(row.path).not.toContain('private');
    expect(row.term).toBeNull();
    const pupil = request({ url: 'http://www.google.test/search?q=cats' }).verdict!.record!.row(null);
    expect(pupil.term).toBe('cats');
  });

  /** What the shell raises alerts from: the verdict's classification and decision, as AlertService.raise runs detect(). */
  function alerts(v: RequestVerdict | null, group: string): string[] {
    if (!v?.record?.decision) return [];
    return detect(v.record.classification, v.record.decision, config.safeguarding, ExclusionSet.EMPTY, group).map((a) => `${a.category}/${a.action}${a.illegal ? '/illegal' : ''}`);
  }

  it.each<{ rule: string; row: RequestRow; want: string[] }>([
    { rule: 'an illegal-list block raises its concern, flagged illegal', row: { url: 'http://iwf.selftest.invalid/', group: 'staff' }, want: ['child-sexual-abuse/block/illegal'] },
    { rule: 'an illegal host, even from an unknown group', row: { url: 'http://terrorism.selftest.invalid/', group: 'nobody' }, want: ['terrorism/block/illegal'] },
    { rule: 'a warn on a safeguarding list', row: { url: 'http://suicide.example.test/', group: 'staff' }, want: ['suicide/warn'] },
    { rule: 'a click-through still raises (the decision is warn)', row: { url: 'http://suicide.example.test/', group: 'staff', memory: clickedThrough('suicide.example.test') }, want: ['suicide/warn'] },
    { rule: 'a block on a safeguarding list', row: { url: 'http://suicide.example.test/' }, want: ['suicide/block'] },
    { rule: 'an unblocked safeguarding site still raises', row: { url: 'http://suicide.example.test/', unblocks: [forKs2('suicide.example.test')] }, want: ['suicide/allow'] },
    { rule: 'a refused sign-in raises nothing (nothing recorded)', row: { url: 'http://iwf.selftest.invalid/', who: REFUSED }, want: [] },
    { rule: 'a site in no safeguarding category raises nothing', row: { url: 'http://play.example.test/' }, want: [] },
  ])('alerts: $rule', ({ row, want }) => {
    const v = request(row).verdict;
    expect(alerts(v, row.who?.kind === 'known' ? row.who.group : row.group ?? 'ks2')).toEqual(want);
    if (row.who === REFUSED) expect(v!.record).toBeNull();
  });
});

// ---------------------------------------------------------------- tunnels

interface ConnectRow {
  readonly rule?: string;
  readonly authority: string;
  readonly group?: string;
  readonly who?: Identity;
  readonly ca?: boolean;
  readonly at?: number;
  readonly memory?: GateMemory;
  readonly unblocks?: readonly Unblock[];
  readonly want?: string;
}

function connect(r: ConnectRow): ConnectVerdict {
  const snap = snapshot({ ca: r.ca ?? true, ...(r.unblocks ? { unblocks: r.unblocks } : {}) });
  return judgeConnect(snap, { authority: r.authority, who: r.who ?? known(r.group ?? 'ks2'), address: ADDRESS, memory: r.memory ?? memory() }, r.at ?? TUE);
}

/** sign-in STATUS | refuse STATUS: reason | own pages | show page (decrypted only to say why) | decrypt | tunnel (dialled first). */
function connectShape(v: ConnectVerdict): string {
  if (v.kind === 'sign-in') return `sign-in ${v.status}`;
  if (v.kind === 'refuse') return `refuse ${v.status}: ${v.reason}`;
  const t = v.tunnel;
  if (t.ownPages) return 'own pages';
  if (t.refused) return t.intercept && !v.dialFirst ? 'show page' : 'refused but open?';
  if (t.intercept !== !v.dialFirst) return 'dial order disagrees with interception';
  return t.intercept ? 'decrypt' : 'tunnel';
}

describe('judgeConnect: each step beats the next', () => {
  it.each<ConnectRow>([
    // a before b-f.
    { rule: 'a refused sign-in beats a bad authority', authority: 'no port', who: REFUSED, want: 'sign-in 407' },
    { rule: 'a refused sign-in beats own pages', authority: 'schoolgate.invalid:443', who: REFUSED, want: 'sign-in 407' },
    { rule: 'a refused sign-in beats an illegal host', authority: 'iwf.selftest.invalid:443', who: REFUSED, want: 'sign-in 407' },
    // b before c-f.
    { rule: 'b no port beats own pages', authority: 'schoolgate.invalid', want: 'refuse 400: CONNECT needs host:port' },
    { rule: 'b port out of range beats an illegal host', authority: 'iwf.selftest.invalid:70000', want: 'refuse 400: CONNECT needs host:port' },
    { rule: 'b a host that does not classify', authority: 'exa mple.test:443', want: 'refuse 400: not a valid host' },
    // c before d-f: the proxy's own pages, on any port, when a CA is set up.
    { rule: 'c own pages beat a port not allowed', authority: 'schoolgate.invalid:22', want: 'own pages' },
    { rule: 'c own pages beat the group\'s level (KS1 allow-list)', authority: 'schoolgate.invalid:443', group: 'ks1', want: 'own pages' },
    { rule: 'c without a CA the page host is an ordinary site', authority: 'schoolgate.invalid:443', ca: false, want: 'tunnel' },
    // d, in order: the port, then a bare IP (blockIpTunnels), then a private address; all before decide().
    { rule: 'd port not allowed beats a bare IP', authority: '192.0.2.1:22', want: 'refuse 403: port 22 is not allowed for tunnels' },
    { rule: 'd an illegal host beats the port refusal (recorded as illegal)', authority: 'iwf.selftest.invalid:8080', group: 'staff', want: 'refuse 403: illegal' },
    { rule: 'd bare IP for a blockIpTunnels group beats a private address', authority: '10.1.2.3:443', want: 'refuse 403: tunnels to bare IP addresses are blocked' },
    { rule: 'd bare IPv6 for a blockIpTunnels group', authority: '[2001:db8::1]:443', want: 'refuse 403: tunnels to bare IP addresses are blocked' },
    { rule: 'd bare IP allowed for other groups', authority: '192.0.2.1:443', group: 'visitor', want: 'tunnel' },
    { rule: 'd private address for other groups beats decide()', authority: '10.1.2.3:443', group: 'ks1', want: 'refuse 403: private or local address' },
    { rule: 'd localhost by name', authority: 'localhost:443', group: 'staff', want: 'refuse 403: private or local address' },
    // e: decide(); a refused tunnel is refused unless decrypted to show why (chooseInterception).
    { rule: 'e illegal: refused without a CA', authority: 'iwf.selftest.invalid:443', group: 'staff', ca: false, want: 'refuse 403: illegal' },
    { rule: 'e illegal beats an unblock', authority: 'iwf.selftest.invalid:443', ca: false, unblocks: [forKs2('iwf.selftest.invalid')], want: 'refuse 403: illegal' },
    { rule: 'e illegal beats an unknown group', authority: 'iwf.selftest.invalid:443', group: 'nobody', ca: false, want: 'refuse 403: illegal' },
    { rule: 'e a block: refused without a CA', authority: 'adult.example.test:443', ca: false, want: 'refuse 403: KS2 pupils filter level: adult is blocked' },
    { rule: 'e an unblock beats the level', authority: 'adult.example.test:443', ca: false, unblocks: [forKs2('adult.example.test')], want: 'tunnel' },
    { rule: 'e block beats a remembered click-through', authority: 'adult.example.test:443', group: 'staff', ca: false, memory: clickedThrough('adult.example.test'), want: 'refuse 403: Staff filter level: adult is blocked' },
    { rule: 'e a warn not clicked through is refused', authority: 'suicide.example.test:443', group: 'staff', ca: false, want: 'refuse 403: warn: Staff filter level: suicide is warned (the person may continue)' },
    { rule: 'e a warn clicked through is let through', authority: 'suicide.example.test:443', group: 'staff', ca: false, memory: clickedThrough('suicide.example.test'), want: 'tunnel' },
    { rule: 'e a block decrypted to show the page', authority: 'adult.example.test:443', want: 'show page' },
    { rule: 'e a warn decrypted to show the page', authority: 'suicide.example.test:443', group: 'staff', want: 'show page' },
    { rule: 'e a host decides on its name only (a path entry does not open it)', authority: 'adult.example.test:443', ca: false, want: 'refuse 403: KS2 pupils filter level: adult is blocked' },
    // chooseInterception, in order: the group's rule, then refused (blockPages), then never
    // (categories, then sites), then all, search engines, categories, sites.
    { rule: 'i1 a group never inspected: a block is refused', authority: 'adult.example.test:443', group: 'visitor', want: 'refuse 403: Visitors filter level: adult is blocked' },
    { rule: 'i1 a group never inspected: tunnelled', authority: 'site.example.test:443', group: 'visitor', want: 'tunnel' },
    { rule: 'i2 blockPages: false refuses a block', authority: 'adult.example.test:443', group: 'guest', want: 'refuse 403: Guests filter level: adult is blocked' },
    { rule: 'i2 refused beats never-intercept (only the block page is shown)', authority: 'bank.example.test:443', group: 'ks1', want: 'show page' },
    { rule: 'i3 never category beats "all"', authority: 'bank.example.test:443', group: 'staff', want: 'tunnel' },
    { rule: 'i3 never site beats "all"', authority: 'never.example.test:443', group: 'staff', want: 'tunnel' },
    { rule: 'i3 never site beats the group\'s site', authority: 'never.example.test:443', want: 'tunnel' },
    { rule: 'i4 "all" decrypts any site', authority: 'site.example.test:443', group: 'staff', want: 'decrypt' },
    { rule: 'i5 search engines are decrypted by default', authority: 'www.google.test:443', want: 'decrypt' },
    { rule: 'i5 searchEngines: false', authority: 'www.google.test:443', group: 'guest', want: 'tunnel' },
    { rule: 'i6 a category the group inspects', authority: 'play.example.test:443', at: FRI_GOLDEN, want: 'decrypt' },
    { rule: 'i7 a site the group inspects', authority: 'site.example.test:443', want: 'decrypt' },
    { rule: 'i8 neither: tunnelled', authority: 'video.example.test:443', at: TUE_AFTER, want: 'tunnel' },
    { rule: 'i no CA: nothing is decrypted', authority: 'site.example.test:443', ca: false, want: 'tunnel' },
  ])('$rule: CONNECT $authority → $want', (r) => {
    expect(connectShape(connect(r))).toBe(r.want);
  });

  it.each<{ rule: string; row: ConnectRow; decided: boolean; outcome: { action: string; ruleKind: string }; raises?: string[] }>([
    { rule: 'a port refusal is the proxy\'s, with no decision (no alert)', row: { authority: 'suicide.example.test:8080' }, decided: false, outcome: { action: 'refused', ruleKind: 'proxy' } },
    { rule: 'an illegal host on a port not allowed is the illegal block (alerted)', row: { authority: 'iwf.selftest.invalid:8080' }, decided: true, outcome: { action: 'block', ruleKind: 'illegal' }, raises: ['child-sexual-abuse'] },
    { rule: 'a bare-IP refusal is the proxy\'s', row: { authority: '192.0.2.1:443' }, decided: false, outcome: { action: 'refused', ruleKind: 'proxy' } },
    { rule: 'a block refused is the policy\'s', row: { authority: 'suicide.example.test:443', ca: false }, decided: true, outcome: { action: 'block', ruleKind: 'level' } },
    { rule: 'a block decrypted to show its page is still a block', row: { authority: 'suicide.example.test:443' }, decided: true, outcome: { action: 'block', ruleKind: 'level' } },
    { rule: 'a warn clicked through is continued', row: { authority: 'suicide.example.test:443', group: 'staff', ca: false, memory: clickedThrough('suicide.example.test') }, decided: true, outcome: { action: 'continued', ruleKind: 'level' } },
    { rule: 'a warn decrypted to show its page is a warn', row: { authority: 'suicide.example.test:443', group: 'staff' }, decided: true, outcome: { action: 'warn', ruleKind: 'level' } },
  ])('traffic row and alert: $rule', ({ row, decided, outcome, raises = ['suicide'] }) => {
    const v = connect(row);
    const rec = v.record!;
    expect(rec.outcome).toMatchObject(outcome);
    expect(rec.row(3)).toMatchObject({ method: 'CONNECT', scheme: 'https', host: row.authority.replace(/:\d+$/, ''), path: null, client: ADDRESS, alert: 3 });
    // The shell raises an alert only from a decision (connect-tunnel.ts handleConnect).
    expect(rec.decision !== null).toBe(decided);
    const raised = rec.decision ? detect(rec.classification, rec.decision, config.safeguarding, ExclusionSet.EMPTY, row.group ?? 'ks2').map((a) => a.category) : [];
    expect(raised).toEqual(decided ? raises : []);
  });

  it('records nothing for a refused sign-in, a bad CONNECT or the proxy\'s own pages', () => {
    expect(connect({ authority: 'iwf.selftest.invalid:443', who: REFUSED }).record).toBeNull();
    expect(connect({ authority: 'no port' }).record).toBeNull();
    expect(connect({ authority: 'schoolgate.invalid:443' }).record).toBeNull();
  });

});

interface TunnelRow {
  readonly rule: string;
  readonly authority: string;
  readonly group?: string;
  readonly hello: HelloResult;
  readonly ca?: boolean;
  readonly at?: number;
  readonly memory?: GateMemory;
  readonly want: string;
}

const hello = (sni: string | null): HelloResult => ({ kind: 'hello', sni, alpn: [], legacyVersion: 0x0303, bytes: 200 });
const NOT_TLS: HelloResult = { kind: 'not-tls', reason: 'GET' };
const BROKEN: HelloResult = { kind: 'malformed', reason: 'short' };
const TOO_LONG: HelloResult = { kind: 'need-more', need: 10 };
const bypassed = (...hosts: string[]): GateMemory => memory({ bypassed: hosts });

function tunnel(r: TunnelRow): TunnelVerdict {
  const snap = snapshot({ ca: r.ca ?? true });
  const mem = r.memory ?? memory();
  const at = r.at ?? TUE;
  const v = judgeConnect(snap, { authority: r.authority, who: known(r.group ?? 'ks2'), address: ADDRESS, memory: mem }, at);
  if (v.kind !== 'hello') throw new Error(`CONNECT ${r.authority} was not let through: ${v.kind}`);
  return judgeTunnel(snap, v.tunnel, r.hello, at);
}

function tunnelShape(v: TunnelVerdict): string {
  if (v.kind === 'drop') return `drop ${v.why}${v.outcome ? ` (${v.outcome.ruleKind}: ${v.outcome.rule})` : ''}`;
  if (v.kind === 'decrypt') return `decrypt${v.pinnedHost ? `, counts towards pinning ${v.pinnedHost}` : ''}`;
  return 'tunnel';
}

describe('judgeTunnel: each step beats the next', () => {
  it.each<TunnelRow>([
    // Own pages first: decrypted on any TLS hello, dropped otherwise.
    { rule: 'own pages: any TLS is decrypted (the proxy answers it)', authority: 'schoolgate.invalid:443', hello: hello('adult.example.test'), want: 'decrypt' },
    { rule: 'own pages: not TLS is dropped', authority: 'schoolgate.invalid:443', hello: NOT_TLS, want: 'drop not-tls' },
    // a before b-d: domain fronting.
    { rule: 'a fronting beats decrypting to show a block page', authority: 'adult.example.test:443', hello: hello('site.example.test'), want: 'drop fronting (proxy: domain fronting: the TLS server name is site.example.test)' },
    { rule: 'a fronting beats decrypt', authority: 'site.example.test:443', hello: hello('adult.example.test'), want: 'drop fronting (proxy: domain fronting: the TLS server name is adult.example.test)' },
    { rule: 'a fronting beats a pinned-app let-through', authority: 'pinned.example.test:443', group: 'staff', memory: bypassed('pinned.example.test'), hello: hello('adult.example.test'), want: 'drop fronting (proxy: domain fronting: the TLS server name is adult.example.test)' },
    { rule: 'a fronting on a tunnel not decrypted', authority: 'video.example.test:443', at: TUE_AFTER, hello: hello('adult.example.test'), want: 'drop fronting (proxy: domain fronting: the TLS server name is adult.example.test)' },
    { rule: 'a no SNI is not fronting', authority: 'site.example.test:443', hello: hello(null), want: 'decrypt' },
    // b: a refused tunnel without TLS is dropped as refused, before requireTls.
    { rule: 'b refused beats requireTls (not TLS)', authority: 'adult.example.test:443', hello: NOT_TLS, want: 'drop refused' },
    { rule: 'b refused, a broken hello', authority: 'suicide.example.test:443', group: 'staff', hello: BROKEN, want: 'drop refused' },
    { rule: 'b requireTls group: not TLS dropped', authority: 'site.example.test:443', hello: NOT_TLS, want: 'drop not-tls (proxy: not TLS)' },
    { rule: 'b requireTls beats "not decrypted": not TLS dropped', authority: 'video.example.test:443', at: TUE_AFTER, hello: NOT_TLS, want: 'drop not-tls (proxy: not TLS)' },
    { rule: 'b other groups: not TLS is tunnelled', authority: 'site.example.test:443', group: 'staff', hello: NOT_TLS, want: 'tunnel' },
    { rule: 'b any group: a broken hello is dropped', authority: 'site.example.test:443', group: 'staff', hello: BROKEN, want: 'drop not-tls (proxy: a broken TLS ClientHello)' },
    { rule: 'b any group: a hello too long is dropped', authority: 'site.example.test:443', group: 'visitor', hello: TOO_LONG, want: 'drop not-tls (proxy: a broken TLS ClientHello)' },
    // c: decrypt, unless a pinned app is let through (pinning groups only; never refused, never a search engine).
    { rule: 'c decrypt, counting towards pinning (staff)', authority: 'pinned.example.test:443', group: 'staff', hello: hello('pinned.example.test'), want: 'decrypt, counts towards pinning pinned.example.test' },
    { rule: 'c a pinned app is let through', authority: 'pinned.example.test:443', group: 'staff', memory: bypassed('pinned.example.test'), hello: hello('pinned.example.test'), want: 'tunnel' },
    { rule: 'c never for a refused host', authority: 'adult.example.test:443', group: 'staff', memory: bypassed('adult.example.test'), hello: hello('adult.example.test'), want: 'decrypt' },
    { rule: 'c never for a warn not clicked through', authority: 'suicide.example.test:443', group: 'staff', memory: bypassed('suicide.example.test'), hello: hello(null), want: 'decrypt' },
    { rule: 'c never for a search engine', authority: 'www.google.test:443', group: 'staff', memory: bypassed('www.google.test'), hello: hello('www.google.test'), want: 'decrypt' },
    { rule: 'c never for a group outside tls.pinning.groups', authority: 'site.example.test:443', memory: bypassed('site.example.test'), hello: hello('site.example.test'), want: 'decrypt' },
    // d: otherwise tunnelled.
    { rule: 'd not chosen for decryption: tunnelled', authority: 'bank.example.test:443', group: 'staff', hello: hello('bank.example.test'), want: 'tunnel' },
    { rule: 'd no CA: tunnelled', authority: 'site.example.test:443', ca: false, hello: hello('site.example.test'), want: 'tunnel' },
  ])('$rule: $authority → $want', (r) => {
    expect(tunnelShape(tunnel(r))).toBe(r.want);
  });
});
