// The pages a person sees from the proxy: warn pages and their continue button, the block
// page's links, "report a concern" stored in a real SQLite file, and the upstream-failure pages.
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { ConcernStore } from '../../src/store/concerns.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy, startTlsOrigin, viaProxy as proxied, type SeenRequest } from '../helpers/proxy.js';

const tmp = tempDir();
let origin: http.Server;
let tlsOrigin: http.Server;
let originPort = 0;
let tlsPort = 0;
let seen: SeenRequest[];
let proxy: Proxy;
let proxyPort = 0;
let db: Database;
let concerns: ConcernStore;

beforeAll(async () => {
  ({ server: origin, port: originPort, seen } = await startOrigin());
  ({ server: tlsOrigin, port: tlsPort } = await startTlsOrigin());
  db = openDatabase(join(tmp.dir, 'store'));
  concerns = new ConcernStore(db);
  // Every self-test name goes to the local origins: the resolver override, not DNS.
  const yaml = `school:\n  name: Test Primary\n  staffAppUrl: https://staff.school.test:8443/\nproxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n    - { cidr: 127.0.1.0/24, group: staff }\n  connectPorts: [443, ${tlsPort}]\n  resolve:\n    "*.selftest.invalid": 127.0.0.1\n`;
  ({ proxy, port: proxyPort } = await startProxy(tmp.dir, yaml, undefined, { concerns }));
});

afterAll(async () => {
  await closeAll(origin, tlsOrigin, proxy);
  db.close();
  tmp.cleanup();
});

function viaProxy(url: string, options: Parameters<typeof proxied>[2] = {}) {
  return proxied(proxyPort, url, options);
}

/** The hidden fields of the first form on a page. */
function formFields(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = unescape(m[2]!);
  return { action: unescape(action), fields };
}

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function connect(host: string, port: number, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: proxyPort, host: '127.0.0.1', localAddress }, () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    s.once('data', (d) => {
      resolve(d.toString('latin1').split('\r\n')[0]!);
      s.destroy();
    });
    s.on('error', reject);
  });
}

// Staff are warned about games (the shipped policy); staff devices are 127.0.1.x here.
describe('warn pages', () => {
  const games = () => `http://games.selftest.invalid:${originPort}/level-1?x=1`;

  it('shows a warning, not the site, with a continue button for this person and site', async () => {
    const before = seen.length;
    const a = await viaProxy(games(), { localAddress: '127.0.1.2' });
    expect(a.status).toBe(403);
    expect(a.headers['x-schoolgate-reason']).toMatch(/^warn: /);
    expect(a.body).toContain('Are you sure?');
    expect(a.body).toContain('Category: games');
    const form = formFields(a.body);
    expect(form.action).toBe('http://schoolgate.invalid/continue');
    expect(form.fields.url).toBe(games());
    expect(form.fields.token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(seen.length).toBe(before);
  });

  it('lets the person through after continue, for a while, and only that person', async () => {
    const a = await viaProxy(games(), { localAddress: '127.0.1.3' });
    const { action, fields } = formFields(a.body);
    // A forged or altered token is refused and remembers nothing.
    const forged = await viaProxy(action, { method: 'POST', body: new URLSearchParams({ ...fields, token: fields.token!.replace(/.$/, (c) => c === 'A' ? 'B' : 'A') }).toString(), localAddress: '127.0.1.3' });
    expect(forged.status).toBe(400);
    expect((await viaProxy(games(), { localAddress: '127.0.1.3' })).status).toBe(403);
    // The token is bound to the device it was shown to.
    expect((await viaProxy(action, { method: 'POST', body: new URLSearchParams(fields).toString(), localAddress: '127.0.1.4' })).status).toBe(400);

    const ok = await viaProxy(action, { method: 'POST', body: new URLSearchParams(fields).toString(), localAddress: '127.0.1.3' });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(games());
    const before = seen.length;
    const through = await viaProxy(games(), { localAddress: '127.0.1.3' });
    expect(through.status).toBe(200);
    expect(through.body).toBe('hello GET /level-1?x=1');
    expect(seen.length).toBe(before + 1);
    // Another page on the same site is covered; another device is still warned.
    expect((await viaProxy(`http://games.selftest.invalid:${originPort}/level-2`, { localAddress: '127.0.1.3' })).status).toBe(200);
    expect((await viaProxy(games(), { localAddress: '127.0.1.5' })).status).toBe(403);
  });

  it('refuses a tunnel to a warned site until the person has continued', async () => {
    expect(await connect('games.selftest.invalid', tlsPort, '127.0.1.6')).toBe('HTTP/1.1 403 Forbidden');
    const a = await viaProxy(`http://games.selftest.invalid:${originPort}/`, { localAddress: '127.0.1.6' });
    const { action, fields } = formFields(a.body);
    expect((await viaProxy(action, { method: 'POST', body: new URLSearchParams(fields).toString(), localAddress: '127.0.1.6' })).status).toBe(303);
    expect(await connect('games.selftest.invalid', tlsPort, '127.0.1.6')).toBe('HTTP/1.1 200 Connection Established');
  });
});

describe('the block page', () => {
  it('links to the staff app\'s unblock form, pre-filled, and to "report a concern"', async () => {
    const a = await viaProxy('http://gambling.selftest.invalid/odds?team=<b>');
    expect(a.status).toBe(403);
    const ref = /Reference: ([0-9A-F]{8})/.exec(a.body)?.[1];
    expect(ref).toBeDefined();
    const links = [...a.body.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => ({ href: new URL(unescape(m[1]!)), text: m[2]! }));
    const unblock = links.find((l) => l.text.includes('Request an unblock'));
    expect(unblock?.href.origin).toBe('https://staff.school.test:8443');
    expect(unblock?.href.pathname).toBe('/unblocks/new');
    expect(unblock?.href.searchParams.get('url')).toBe('http://gambling.selftest.invalid/odds?team=<b>');
    expect(unblock?.href.searchParams.get('ref')).toBe(ref);
    expect(unblock?.href.searchParams.get('categories')).toBe('gambling');
    const concern = links.find((l) => l.text === 'Report a concern');
    expect(concern?.href.origin).toBe('http://schoolgate.invalid');
    expect(concern?.href.searchParams.get('ref')).toBe(ref);
  });

  it('links to the staff app on this machine when school.staffAppUrl is not set', async () => {
    const bare = await startProxy(tmp.dir, `admin:\n  port: 8181\nproxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n`);
    try {
      const a = await proxied(bare.port, 'http://gambling.selftest.invalid/odds', { localAddress: '127.0.0.9' });
      expect(a.status).toBe(403);
      const unblock = [...a.body.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].find((m) => m[2]!.includes('Request an unblock'));
      // The address the device reached the proxy on, and the staff app's port.
      expect(new URL(unescape(unblock![1]!)).origin).toBe('http://127.0.0.1:8181');
    } finally {
      await closeAll(bare.proxy);
    }
  });

  it('offers no unblock and no site details for illegal content', async () => {
    const a = await viaProxy('http://iwf.selftest.invalid/');
    expect(a.status).toBe(403);
    expect(a.body).toContain('Internet Watch Foundation');
    expect(a.body).not.toContain('unblock');
    expect(a.body).not.toContain('iwf.selftest.invalid');
  });

  it('puts the links in the plain-text page too', async () => {
    const a = await viaProxy('http://gambling.selftest.invalid/', { accept: '*/*' });
    expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(a.body).toMatch(/Report a concern: http:\/\/schoolgate\.invalid\/concern\?ref=[0-9A-F]{8}&url=/);
  });
});

describe('report a concern', () => {
  it('shows the form and stores what is sent, with who and where it came from', async () => {
    const form = await viaProxy('http://schoolgate.invalid/concern?ref=ABCD1234&url=http%3A%2F%2Fgambling.selftest.invalid%2F', { localAddress: '127.0.0.7' });
    expect(form.status).toBe(200);
    const { action, fields } = formFields(form.body);
    expect(action).toBe('http://schoolgate.invalid/concern');
    expect(fields).toEqual({ ref: 'ABCD1234', url: 'http://gambling.selftest.invalid/' });
    const sent = await viaProxy(action, { method: 'POST', body: new URLSearchParams({ ...fields, text: '  Someone in my class sent me <this> link  ' }).toString(), localAddress: '127.0.0.7' });
    expect(sent.status).toBe(200);
    expect(sent.body).toContain('Thank you');
    const [stored] = concerns.list(1);
    expect(stored).toMatchObject({ reference: 'ABCD1234', url: 'http://gambling.selftest.invalid/', group: 'ks2', user: null, address: '127.0.0.7', text: 'Someone in my class sent me <this> link' });
    expect(sent.body).toContain(`number ${stored!.id}`);
  });

  it('refuses an empty report, and stores nothing', async () => {
    const count = concerns.list(1000).length;
    const sent = await viaProxy('http://schoolgate.invalid/concern', { method: 'POST', body: 'ref=X&text=%20%20' });
    expect(sent.status).toBe(400);
    expect(concerns.list(1000).length).toBe(count);
  });
});

describe('when the site fails', () => {
  it('answers 502 with a page naming the host when the name does not exist', async () => {
    const a = await viaProxy('http://no-such-host.invalid/');
    expect(a.status).toBe(502);
    expect(a.body).toContain('no-such-host.invalid could not be found');
  });
});
