// The gate as tables of facts and verdicts, with no sockets: every rule of precedence the proxy
// applies to a request or a tunnel, on the shipped policy plus a few test settings. Times are
// instants; Europe/London is GMT in November. Hosts are <category>.selftest.invalid (the
// self-test list) and *.example.test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../src/classify/classifier.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { withUnblocks } from '../../src/policy/compile.js';
import type { Unblock } from '../../src/policy/types.js';
import type { HelloResult } from '../../src/proxy/client-hello.js';
import {
  judgeConnect, judgeRequest, judgeTunnel, targetOf,
  type ConnectVerdict, type GateMemory, type GateSnapshot, type Identity, type Interception, type RequestLine, type RequestVerdict, type TunnelFacts,
} from '../../src/proxy/gate.js';
import { LiveSnapshot, takeSnapshot } from '../../src/proxy/live-snapshot.js';
import { tempDir } from '../helpers/lists.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir();
let config: SchoolgateConfig;
let classifier: Classifier;
/** A school CA is set up (HTTPS inspection possible). */
let inspecting: GateSnapshot;
/** No school CA: nothing is decrypted. */
let plainOnly: GateSnapshot;

const CA: Interception = { context: () => { throw new Error('no certificates in table tests'); }, caCertPem: '' };
const TUE = Date.parse('2026-11-17T10:00Z');
const TUE_LUNCH = Date.parse('2026-11-17T12:30Z');
const FRI_GOLDEN = Date.parse('2026-11-20T14:45Z');
const ADDRESS = '10.0.0.5';

beforeAll(async () => {
  mkdirSync(join(tmp.dir, 'school-block'));
  writeFileSync(join(tmp.dir, 'school-block', 'domains'), 'blocked.example.test\n');
  mkdirSync(join(tmp.dir, 'school-allow'));
  writeFileSync(join(tmp.dir, 'school-allow', 'urls'), 'games.selftest.invalid/maths\n');
  writeFileSync(join(tmp.dir, 'never.yaml'), 'categories: [finance]\nsites:\n  - bank.example.test\n');
  config = loadConfig(writeTestConfig(tmp.dir, `proxy:
  connectPorts: [443, 8443]
  blockIpTunnels: [ks2]
  requireTls: [ks2]
tls:
  intercept:
    ks1: { categories: all }
    ks2:
      categories: [search-engines, games]
      sites: [site.example.test, bank.example.test]
    staff:
      categories: [search-engines]
      sites: [pinned.example.test, www.google.com]
    guest:
      sites: [site.example.test]
      blockPages: false
  neverIntercept: ${join(tmp.dir, 'never.yaml')}
  pinning: { devices: 3, withinMinutes: 10, bypassMinutes: 60, groups: [staff] }
lists:
  sources:
    - name: school-block
      format: list
      path: ${join(tmp.dir, 'school-block')}
      category: school-blocked
      role: block
    - name: school-allow
      format: list
      path: ${join(tmp.dir, 'school-allow')}
      category: education
      role: allow
`));
  ({ classifier } = await loadLists(config, { dataDir: join(tmp.dir, 'data') }));
  inspecting = takeSnapshot({ config, classifier }, CA);
  plainOnly = takeSnapshot({ config, classifier }, null);
});

afterAll(() => tmp.cleanup());

/** The proxy's memories, as a table row states them. */
function memory(o: { continued?: string[]; bypassed?: string[] } = {}): GateMemory {
  return {
    continued: (who, host) => (o.continued ?? []).includes(`${who} ${host}`),
    pinBypassed: (host) => (o.bypassed ?? []).includes(host),
  };
}

const known = (group: string, user?: string): Identity => ({ kind: 'known', group, ...(user ? { user } : {}) });

interface RequestCase {
  readonly snapshot?: GateSnapshot;
  readonly method?: string;
  readonly headers?: string[];
  readonly upgrade?: boolean;
  readonly tunnel?: RequestLine['tunnel'];
  readonly who?: Identity;
  readonly memory?: GateMemory;
  readonly at?: number;
}

function request(target: string, group: string, c: RequestCase = {}): RequestVerdict {
  const snap = c.snapshot ?? plainOnly;
  const method = c.method ?? 'GET';
  const t = targetOf(snap, { method, target, httpVersionMajor: 1, via: undefined, upgrade: c.upgrade ?? false, tunnel: c.tunnel });
  if (t.kind !== 'site') throw new Error(`${target} is not a site: ${JSON.stringify(t)}`);
  const headers = c.headers ?? ['Host', t.url.host];
  const value = (name: string): string | undefined => {
    const i = headers.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === name);
    return i < 0 ? undefined : headers[i + 1];
  };
  return judgeRequest(snap, {
    site: t, who: c.who ?? known(group), address: ADDRESS, method, httpVersion: '1.1', rawHeaders: headers,
    contentLength: value('content-length'), transferEncoding: value('transfer-encoding'), upgrade: c.upgrade ?? false, memory: c.memory ?? memory(),
  }, c.at ?? TUE);
}

/** A verdict in one word: the act, and the rule that decided (or the status of a plain answer). */
function summary(v: RequestVerdict): string {
  const a = v.act;
  if (a.kind === 'forward') return `forward:${v.record!.decision!.rule.kind}`;
  if (a.kind === 'block' || a.kind === 'warn') return `${a.kind}:${a.decision.rule.kind}`;
  return `${a.kind}:${a.status}`;
}

const UNTIL = new Date('2026-12-01T00:00Z');
const FROM = new Date('2026-11-01T00:00Z');
function unblock(site: string, target: Unblock['target']): Unblock {
  return { id: `u-${site}`, site, target, from: FROM, until: UNTIL, approvedBy: 'it.technician', reason: 'a lesson' };
}
function withUnblocked(snap: GateSnapshot, ...u: Unblock[]): GateSnapshot {
  return takeSnapshot({ classifier: snap.classifier, config: { ...snap.config, policy: withUnblocks(snap.config.policy, u) } }, snap.tls);
}

describe('judgeRequest: the policy\'s order of precedence', () => {
  it.each([
    // [url, group, instant, verdict]
    // 1. Illegal lists: blocked for every group, staff included.
    ['http://iwf.selftest.invalid/', 'staff', TUE, 'block:illegal'],
    ['http://terrorism.selftest.invalid/', 'ks1', TUE, 'block:illegal'],
    ['http://iwf.selftest.invalid/', 'guest', TUE, 'block:illegal'],
    // Group filter levels.
    ['http://adult.selftest.invalid/', 'ks2', TUE, 'block:level'],
    ['http://adult.selftest.invalid/', 'staff', TUE, 'block:level'],
    ['http://games.selftest.invalid/', 'staff', TUE, 'warn:level'],
    ['http://video-streaming.selftest.invalid/', 'ks2', TUE, 'forward:level'],
    // Time windows: KS2's golden time, staff lunch.
    ['http://games.selftest.invalid/', 'ks2', TUE, 'block:level'],
    ['http://games.selftest.invalid/', 'ks2', FRI_GOLDEN, 'forward:schedule'],
    ['http://social-networking.selftest.invalid/', 'staff', TUE, 'block:level'],
    ['http://social-networking.selftest.invalid/', 'staff', TUE_LUNCH, 'forward:schedule'],
    // Sites in no category: the group's default (KS1 is allow-list only).
    ['http://site.example.test/', 'ks1', TUE, 'block:default'],
    ['http://site.example.test/', 'ks2', TUE, 'forward:default'],
    // Site lists: the group's own allow and block entries, the school's lists.
    ['http://www.bbc.co.uk/cbeebies/games', 'ks1', TUE, 'forward:site-list'],
    ['http://mis.example-school.invalid/', 'guest', TUE, 'block:site-list'],
    ['http://mis.example-school.invalid/', 'ks2', TUE, 'forward:default'],
    ['http://blocked.example.test/', 'staff', TUE, 'block:site-list'],
    // An allow entry more specific than the category entry opens that part only.
    ['http://games.selftest.invalid/maths/sums', 'ks2', TUE, 'forward:site-list'],
    ['http://games.selftest.invalid/other', 'ks2', TUE, 'block:level'],
    // A block comes before the private-address guard; an allowed private address is refused by the proxy.
    ['http://127.0.0.1/', 'ks1', TUE, 'block:default'],
    ['http://127.0.0.1/', 'ks2', TUE, 'plain:403'],
    ['http://localhost/', 'staff', TUE, 'plain:403'],
  ])('%s for %s at %s: %s', (url, group, at, want) => {
    expect(summary(request(url, group, { at }))).toBe(want);
  });

  it('an unblock opens a site for its group or person, never an illegal one', () => {
    const snap = withUnblocked(plainOnly,
      unblock('games.selftest.invalid', { kind: 'group', group: 'ks2' }),
      unblock('adult.selftest.invalid', { kind: 'user', user: 'Tom.Smith' }),
      unblock('iwf.selftest.invalid', { kind: 'group', group: 'staff' }));
    expect(summary(request('http://games.selftest.invalid/', 'ks2', { snapshot: snap }))).toBe('forward:unblock');
    expect(summary(request('http://games.selftest.invalid/', 'ks1', { snapshot: snap }))).toBe('block:default');
    expect(summary(request('http://adult.selftest.invalid/', 'ks2', { snapshot: snap, who: known('ks2', 'tom.smith') }))).toBe('forward:unblock');
    expect(summary(request('http://adult.selftest.invalid/', 'ks2', { snapshot: snap, who: known('ks2', 'amy.jones') }))).toBe('block:level');
    expect(summary(request('http://iwf.selftest.invalid/', 'staff', { snapshot: snap }))).toBe('block:illegal');
    // Outside its window the unblock is not in force.
    expect(summary(request('http://games.selftest.invalid/', 'ks2', { snapshot: snap, at: UNTIL.getTime() }))).toBe('block:level');
  });

  it('a warn is shown until this person clicked through for this site, then forwarded and logged as continued', () => {
    const first = request('http://games.selftest.invalid/', 'staff');
    expect(first.act).toMatchObject({ kind: 'warn', host: 'games.selftest.invalid', target: 'http://games.selftest.invalid/' });
    expect(first.record!.outcome.action).toBe('warn');
    const clicked = memory({ continued: [`address:${ADDRESS} games.selftest.invalid`] });
    const after = request('http://games.selftest.invalid/', 'staff', { memory: clicked });
    expect(summary(after)).toBe('forward:level');
    expect(after.record!.outcome.action).toBe('continued');
    // Remembered per person: a signed-in user's click-through is theirs, not the device's.
    expect(request('http://games.selftest.invalid/', 'staff', { memory: clicked, who: known('staff', 'j.smith') }).act.kind).toBe('warn');
    expect(summary(request('http://games.selftest.invalid/', 'staff', { memory: memory({ continued: ['user:j.smith games.selftest.invalid'] }), who: known('staff', 'j.smith') }))).toBe('forward:level');
  });

  it('a refused sign-in is answered before anything is classified, and nothing is recorded', () => {
    const v = request('http://adult.selftest.invalid/', 'ks2', { who: { kind: 'refused', status: 407, headers: { 'proxy-authenticate': 'Basic' }, body: 'Sign in.\n' } });
    expect(v.act).toEqual({ kind: 'sign-in', status: 407, headers: { 'proxy-authenticate': 'Basic' }, body: 'Sign in.\n' });
    expect(v.record).toBeNull();
  });

  it('records what the decision was, the alert\'s inputs, and a row with the alert it raised', () => {
    const v = request('http://suicide.selftest.invalid/page?q=1', 'staff', { who: known('staff', 'j.smith') });
    expect(v.record!.decision!.action).toBe('warn');
    expect(v.record!.classification.categories).toContain('suicide');
    const row = v.record!.row(42);
    expect(row).toMatchObject({ user: 'j.smith', group: 'staff', method: 'GET', scheme: 'http', host: 'suicide.selftest.invalid', alert: 42 });
    // The private-address refusal is the proxy's, not the policy's.
    expect(request('http://127.0.0.1/', 'ks2').record!.outcome).toMatchObject({ action: 'refused', ruleKind: 'proxy' });
  });
});

describe('judgeRequest: how an allowed request goes upstream', () => {
  it('rewrites Host from the request line and drops Expect', () => {
    const v = request('http://site.example.test:8080/a?b=1', 'ks2', { headers: ['Host', 'other.example.test', 'Expect', '100-continue', 'Accept', '*/*'] });
    expect(v.act).toMatchObject({ kind: 'forward', to: { scheme: 'http', host: 'site.example.test', port: 8080, path: '/a?b=1' }, hasBody: false });
    const headers = (v.act as Extract<RequestVerdict['act'], { kind: 'forward' }>).to.headers;
    expect(headers.slice(0, 2)).toEqual(['Host', 'site.example.test:8080']);
    expect(headers.map((h) => h.toLowerCase())).not.toContain('expect');
  });

  it('safe search: the query is rewritten for a search engine, and YouTube gets its header, as each group says', () => {
    const google = request('http://www.google.com/search?q=cats', 'ks2');
    expect(google.act.kind).toBe('forward');
    const path = (google.act as Extract<RequestVerdict['act'], { kind: 'forward' }>).to.path;
    expect(path).toMatch(/^\/search\?/);
    expect(path).toContain('safe=active');
    const youtube = request('http://www.youtube.com/watch?v=x', 'ks2');
    expect((youtube.act as Extract<RequestVerdict['act'], { kind: 'forward' }>).to.headers).toContain('YouTube-Restrict');
    // Staff: safe search on Google, YouTube unrestricted.
    expect((request('http://www.youtube.com/watch?v=x', 'staff').act as Extract<RequestVerdict['act'], { kind: 'forward' }>).to.headers).not.toContain('YouTube-Restrict');
    expect((request('http://www.google.com/search?q=cats', 'staff').act as Extract<RequestVerdict['act'], { kind: 'forward' }>).to.path).toContain('safe=active');
  });

  it.each([
    // [method, headers, verdict]
    ['OPTIONS', ['Max-Forwards', '0'], 'plain:200'],
    ['TRACE', ['Max-Forwards', '0'], 'plain:405'],
    ['OPTIONS', ['Max-Forwards', '1'], 'forward:default'],
    ['POST', ['Content-Length', '3'], 'forward:default'],
  ])('%s with %j: %s', (method, headers, want) => {
    expect(summary(request('http://site.example.test/', 'ks2', { method, headers }))).toBe(want);
  });

  it('upgrades: WebSocket only, never with a body, logged as ws', () => {
    const ws = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
    const v = request('http://site.example.test/chat', 'ks2', { upgrade: true, headers: ws });
    expect(v.act).toMatchObject({ kind: 'forward', upgrade: true });
    expect(v.record!.row(null).scheme).toBe('ws');
    expect(summary(request('http://site.example.test/chat', 'ks2', { upgrade: true, headers: ['Connection', 'Upgrade', 'Upgrade', 'h2c'] }))).toBe('plain:400');
    expect(summary(request('http://site.example.test/chat', 'ks2', { upgrade: true, headers: [...ws, 'Content-Length', '5'] }))).toBe('plain:400');
    // The policy still comes first.
    expect(summary(request('ws://adult.selftest.invalid/chat', 'ks2', { upgrade: true, headers: ws }))).toBe('block:level');
  });

  it('inside a decrypted tunnel the tunnel\'s host is the site, over https', () => {
    const tunnel = { host: 'site.example.test', port: 443 };
    const v = request('/page?x=1', 'ks2', { tunnel });
    expect(v.act).toMatchObject({ kind: 'forward', to: { scheme: 'https', host: 'site.example.test', port: 443, path: '/page?x=1' } });
    expect(v.record!.row(null).scheme).toBe('https');
    expect(summary(request('/', 'ks2', { tunnel: { host: 'adult.selftest.invalid', port: 443 } }))).toBe('block:level');
  });
});

describe('targetOf: what is answered before anyone is asked who they are', () => {
  const line = (target: string, more: Partial<RequestLine> = {}): RequestLine => ({ method: 'GET', target, httpVersionMajor: 1, via: undefined, upgrade: false, tunnel: undefined, ...more });
  it.each([
    // [target, line, what]
    ['/', {}, 'own /'],
    ['/concern?ref=1', {}, 'own /concern?ref=1'],
    ['http://schoolgate.invalid/continue', {}, 'own /continue'],
    ['/anything', { tunnel: { host: 'schoolgate.invalid', port: 443 } }, 'own /anything'],
    ['*', { method: 'OPTIONS' }, 'plain 200'],
    ['*', {}, 'plain 400'],
    ['http://site.example.test/', { httpVersionMajor: 2 }, 'plain 505'],
    ['http://site.example.test/', { httpVersionMajor: 0 }, 'plain 505'],
    ['http://site.example.test/', { via: '1.1 schoolgate' }, 'plain 508'],
    ['http://site.example.test/', { via: '1.1 other-proxy' }, 'site http'],
    ['https://site.example.test/', {}, 'plain 400'],
    ['ws://site.example.test/', {}, 'plain 400'],
    ['ws://site.example.test/', { upgrade: true }, 'site http'],
    ['http://exa mple.test/', {}, 'plain 400'],
    ['http://site.example.test/', { tunnel: { host: 'site.example.test', port: 443 } }, 'plain 400'],
    ['/x', { tunnel: { host: 'site.example.test', port: 8443 } }, 'site https'],
  ])('%s %j: %s', (target, more, want) => {
    const t = targetOf(plainOnly, line(target, more));
    expect(t.kind === 'own' ? `own ${t.path}` : t.kind === 'plain' ? `plain ${t.status}` : `site ${t.scheme}`).toBe(want);
  });
});

describe('judgeConnect: refuse, or wait for the ClientHello (and decrypt or not)', () => {
  function connect(authority: string, group: string, snap: GateSnapshot, o: { at?: number; memory?: GateMemory; user?: string } = {}): ConnectVerdict {
    return judgeConnect(snap, { authority, who: known(group, o.user), address: ADDRESS, memory: o.memory ?? memory() }, o.at ?? TUE);
  }
  /** refuse STATUS reason-start | decrypt | tunnel (dialled first) | refused-decrypt (only to show the page). */
  function shape(v: ConnectVerdict): string {
    if (v.kind === 'refuse') return `refuse ${v.status}`;
    if (v.kind === 'sign-in') return `sign-in ${v.status}`;
    if (v.tunnel.ownPages) return 'own pages';
    if (v.tunnel.refused) return v.tunnel.intercept ? 'decrypt to show the page' : 'refused?';
    return v.dialFirst ? 'tunnel' : 'decrypt';
  }

  it.each([
    // [authority, group, inspecting?, instant, verdict]
    ['site.example.test', 'ks2', true, TUE, 'refuse 400'],
    ['site.example.test:99999', 'ks2', true, TUE, 'refuse 400'],
    // Refused by the proxy's own rules, before the policy.
    ['site.example.test:22', 'staff', true, TUE, 'refuse 403'],
    ['192.0.2.1:443', 'ks2', true, TUE, 'refuse 403'],
    ['127.0.0.1:443', 'staff', true, TUE, 'refuse 403'],
    // Illegal: refused for everyone; with a CA, decrypted only to show why.
    ['iwf.selftest.invalid:443', 'staff', false, TUE, 'refuse 403'],
    ['iwf.selftest.invalid:443', 'staff', true, TUE, 'decrypt to show the page'],
    // A block: refused without a CA, or for a group never decrypted, or with blockPages: false.
    ['adult.selftest.invalid:443', 'ks2', false, TUE, 'refuse 403'],
    ['adult.selftest.invalid:443', 'ks2', true, TUE, 'decrypt to show the page'],
    ['adult.selftest.invalid:443', 'guest', true, TUE, 'refuse 403'],
    // A warn: refused unless clicked through (or decrypted to show its page).
    ['games.selftest.invalid:443', 'staff', false, TUE, 'refuse 403'],
    ['games.selftest.invalid:443', 'staff', true, TUE, 'decrypt to show the page'],
    // Allowed: decrypted where the group's rule says, else tunnelled.
    ['games.selftest.invalid:443', 'ks2', true, FRI_GOLDEN, 'decrypt'],
    ['games.selftest.invalid:443', 'ks2', false, FRI_GOLDEN, 'tunnel'],
    ['site.example.test:443', 'ks2', true, TUE, 'decrypt'],
    ['site.example.test:443', 'staff', true, TUE, 'tunnel'],
    ['site.example.test:8443', 'ks1', true, TUE, 'decrypt to show the page'],
    ['www.google.com:443', 'ks2', true, TUE, 'decrypt'],
    ['www.google.com:443', 'staff', true, TUE, 'decrypt'],
    // Never decrypted, whatever the group's rule names.
    ['bank.example.test:443', 'ks2', true, TUE, 'tunnel'],
    // The proxy's own pages over HTTPS, with a CA; without one they are an ordinary site.
    ['schoolgate.invalid:443', 'ks2', true, TUE, 'own pages'],
    ['schoolgate.invalid:443', 'ks2', false, TUE, 'tunnel'],
  ])('CONNECT %s for %s (CA: %s) at %s: %s', (authority, group, withCa, at, want) => {
    expect(shape(connect(authority, group, withCa ? inspecting : plainOnly, { at }))).toBe(want);
  });

  it('a refused sign-in is answered before anything else, and not recorded', () => {
    const v = judgeConnect(inspecting, { authority: 'iwf.selftest.invalid:443', who: { kind: 'refused', status: 407, headers: { 'proxy-authenticate': 'Basic' }, body: '' }, address: ADDRESS, memory: memory() }, TUE);
    expect(v).toEqual({ kind: 'sign-in', status: 407, headers: { 'proxy-authenticate': 'Basic' }, record: null });
  });

  it('says why a tunnel was refused, and records the policy\'s decisions apart from the proxy\'s own refusals', () => {
    const port = connect('site.example.test:22', 'staff', inspecting);
    expect(port).toMatchObject({ kind: 'refuse', reason: 'port 22 is not allowed for tunnels' });
    expect(port.record).toMatchObject({ decision: null, outcome: { action: 'refused', ruleKind: 'proxy' } });
    expect(connect('192.0.2.1:443', 'ks2', inspecting)).toMatchObject({ reason: 'tunnels to bare IP addresses are blocked' });
    expect(connect('127.0.0.1:443', 'staff', inspecting)).toMatchObject({ reason: 'private or local address' });
    expect(connect('iwf.selftest.invalid:443', 'staff', plainOnly)).toMatchObject({ kind: 'refuse', status: 403, reason: 'illegal' });
    const warn = connect('games.selftest.invalid:443', 'staff', plainOnly);
    expect(warn).toMatchObject({ kind: 'refuse', status: 403 });
    expect((warn as Extract<ConnectVerdict, { kind: 'refuse' }>).reason).toMatch(/^warn: /);
    expect(warn.record!.decision!.action).toBe('warn');
    expect(warn.record!.row(7)).toMatchObject({ method: 'CONNECT', scheme: 'https', host: 'games.selftest.invalid', path: null, alert: 7 });
    // The bad requests are not recorded at all.
    expect(connect('site.example.test', 'ks2', inspecting).record).toBeNull();
    expect(connect('schoolgate.invalid:443', 'ks2', inspecting).record).toBeNull();
  });

  it('a warn clicked through over HTTP lets the tunnel through, logged as continued', () => {
    const clicked = memory({ continued: [`address:${ADDRESS} games.selftest.invalid`] });
    const v = connect('games.selftest.invalid:443', 'staff', plainOnly, { memory: clicked });
    expect(shape(v)).toBe('tunnel');
    expect(v.record!.outcome.action).toBe('continued');
  });

  it('an unblock opens the tunnel; safe search sends a search engine\'s tunnel to its safe host', () => {
    const snap = withUnblocked(plainOnly, unblock('adult.selftest.invalid', { kind: 'group', group: 'ks2' }));
    expect(shape(connect('adult.selftest.invalid:443', 'ks2', snap))).toBe('tunnel');
    const google = connect('www.google.com:443', 'ks2', plainOnly);
    expect(google.kind).toBe('hello');
    const t = (google as Extract<ConnectVerdict, { kind: 'hello' }>).tunnel;
    expect(t.dialHost).not.toBe('www.google.com');
    expect(t.dialHost).toMatch(/google/);
    expect((connect('site.example.test:443', 'ks2', plainOnly) as Extract<ConnectVerdict, { kind: 'hello' }>).tunnel.dialHost).toBe('site.example.test');
  });
});

describe('judgeTunnel: what the ClientHello changes', () => {
  const hello = (sni: string | null): HelloResult => ({ kind: 'hello', sni, alpn: [], legacyVersion: 0x0303, bytes: 200 });
  const NOT_TLS: HelloResult = { kind: 'not-tls', reason: 'GET' };
  const BROKEN: HelloResult = { kind: 'malformed', reason: 'short' };
  const TOO_LONG: HelloResult = { kind: 'need-more', need: 10 };
  function facts(authority: string, group: string, snap: GateSnapshot, mem: GateMemory = memory()): TunnelFacts {
    const v = judgeConnect(snap, { authority, who: { kind: 'known', group }, address: ADDRESS, memory: mem }, TUE);
    if (v.kind !== 'hello') throw new Error(`${authority} was not let through: ${v.kind}`);
    return v.tunnel;
  }
  function step(authority: string, group: string, h: HelloResult, o: { snap?: GateSnapshot; mem?: GateMemory } = {}): string {
    const snap = o.snap ?? inspecting;
    const v = judgeTunnel(snap, facts(authority, group, snap, o.mem), h, TUE);
    if (v.kind === 'drop') return `drop ${v.why}${v.outcome ? ` (${v.outcome.rule})` : ''}`;
    if (v.kind === 'decrypt') return `decrypt${v.pinnedHost ? ` pinnable ${v.pinnedHost}` : ''}`;
    return 'tunnel';
  }
  const bypassed = memory({ bypassed: ['pinned.example.test', 'www.google.com'] });

  it.each([
    // [authority, group, hello, options, verdict]
    ['site.example.test:443', 'ks2', hello('site.example.test'), {}, 'decrypt'],
    ['site.example.test:443', 'ks2', hello(null), {}, 'decrypt'],
    // Domain fronting: the SNI names another host.
    ['site.example.test:443', 'ks2', hello('adult.selftest.invalid'), {}, 'drop fronting (domain fronting: the TLS server name is adult.selftest.invalid)'],
    ['site.example.test:443', 'staff', hello('other.example.test'), {}, 'drop fronting (domain fronting: the TLS server name is other.example.test)'],
    // No TLS: dropped for requireTls groups and for any refused tunnel; tunnelled otherwise.
    ['site.example.test:443', 'ks2', NOT_TLS, {}, 'drop not-tls (not TLS)'],
    ['site.example.test:443', 'staff', NOT_TLS, {}, 'tunnel'],
    ['adult.selftest.invalid:443', 'ks2', hello(null), {}, 'decrypt'],
    ['adult.selftest.invalid:443', 'ks2', NOT_TLS, {}, 'drop refused'],
    ['site.example.test:443', 'staff', BROKEN, {}, 'drop not-tls (a broken TLS ClientHello)'],
    ['site.example.test:443', 'staff', TOO_LONG, {}, 'drop not-tls (a broken TLS ClientHello)'],
    // Pinned apps: only for tls.pinning.groups, never a search engine.
    ['pinned.example.test:443', 'staff', hello('pinned.example.test'), {}, 'decrypt pinnable pinned.example.test'],
    ['pinned.example.test:443', 'staff', hello('pinned.example.test'), { mem: bypassed }, 'tunnel'],
    ['www.google.com:443', 'staff', hello('www.google.com'), { mem: bypassed }, 'decrypt'],
    ['site.example.test:443', 'ks2', hello('site.example.test'), { mem: memory({ bypassed: ['site.example.test'] }) }, 'decrypt'],
    // Not chosen for decryption: tunnelled.
    ['bank.example.test:443', 'ks2', hello('bank.example.test'), {}, 'tunnel'],
    // The proxy's own pages: decrypted, nothing else.
    ['schoolgate.invalid:443', 'ks2', hello('schoolgate.invalid'), {}, 'decrypt'],
    ['schoolgate.invalid:443', 'ks2', NOT_TLS, {}, 'drop not-tls'],
  ])('%s for %s, %j %j: %s', (authority, group, h, o, want) => {
    expect(step(authority, group, h, o)).toBe(want);
  });
});

describe('LiveSnapshot over a bare source: one frozen snapshot until a reload swaps a part', () => {
  it('hands every request the same snapshot, and a new one after the configuration, the classifier or the inspection changes', () => {
    const source = { config: plainOnly.config, classifier: plainOnly.classifier };
    let tls: typeof CA | null = null;
    const live = new LiveSnapshot(source, { tls: () => tls });
    const take = (): GateSnapshot => live.current;
    const first = take();
    expect(Object.isFrozen(first)).toBe(true);
    expect(take()).toBe(first);
    source.config = { ...source.config };
    const afterReload = take();
    expect(afterReload).not.toBe(first);
    expect(afterReload.version).toBe(first.version + 1);
    expect(afterReload.config).toBe(source.config);
    expect(first.config).toBe(plainOnly.config); // a request in flight keeps what it took
    // Same proxy and TLS sections: the upstream pool is kept.
    expect(afterReload.upstream).toBe(first.upstream);
    tls = CA;
    expect(take().tls).toBe(CA);
    expect(take()).toBe(take());
    live.close();
  });
});
