// The staff app in a real Chromium, with the real proxy beside it: a teacher asks for an unblock
// from a block page, a technician approves it, the pupil's next request is let through, and after
// the unblock ends it is blocked again; a technician changes KS2's level for a category and the
// proxy follows; a forged cross-site form and markup in a reason do nothing.
// SCREENSHOTS=DIR saves the main screens there (docs/screenshots in the repository; the filter
// levels are browser-layout.test.ts's).
import type http from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin } from '../helpers/proxy.js';
import { unusedPort } from '../helpers/raw-http.js';
import { PASSWORD, startStaffApp, type StaffApp } from '../helpers/staff-app.js';

const tmp = tempDir();
const shots = process.env.SCREENSHOTS;
let clock = Date.now();
let browser: Browser;
let app: StaffApp;
let origin: http.Server;
let originPort = 0;
let evil: http.Server;
let evilPort = 0;
let teacher: BrowserContext;
let technician: BrowserContext;
let pupil: BrowserContext;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  ({ server: evil, port: evilPort } = await startOrigin());
  // Everyone signs in to the proxy: the teacher as staff, the pupil as a KS2 account.
  const port = await unusedPort();
  app = await startStaffApp(tmp.dir, `school:
  name: Browser Test Primary
  timezone: Europe/London
  staffAppUrl: http://127.0.0.1:${port}
proxy:
  networks:
    - { cidr: 127.0.0.0/8, group: staff, auth: required }
  allowPrivate: [127.0.0.0/8]
  resolve:
    "*.selftest.invalid": 127.0.0.1
`, { now: () => new Date(clock), port });
  await app.addUser('t.teacher', ['teacher']);
  await app.addUser('it.tech', ['technician']);
  await app.addUser('pupil5', [], 'ks2');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--proxy-bypass-list=<-loopback>'],
  });
  const proxy = `http://127.0.0.1:${app.proxyPort}`;
  teacher = await browser.newContext({ proxy: { server: proxy, username: 't.teacher', password: PASSWORD } });
  technician = await browser.newContext();
  pupil = await browser.newContext({ proxy: { server: proxy, username: 'pupil5', password: PASSWORD } });
  if (shots) mkdirSync(shots, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await closeAll(origin, evil);
  tmp.cleanup();
});

async function shot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, username: string): Promise<void> {
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
}

const gambling = () => `http://gambling.selftest.invalid:${originPort}/odds`;

describe('the staff app in Chromium', () => {
  it('a teacher asks from the block page, a technician approves, the pupil gets through, and after the end is blocked again', async () => {
    // The pupil is blocked.
    const p = await pupil.newPage();
    expect((await p.goto(gambling()))?.status()).toBe(403);

    // The teacher, on a staff device, sees the same site blocked and follows "request an unblock".
    const t = await teacher.newPage();
    expect((await t.goto(gambling()))?.status()).toBe(403);
    await t.click('text=Request an unblock');
    await t.waitForSelector('#username');
    await shot(t, 'sign-in');
    await signIn(t, 't.teacher');
    await t.waitForSelector('#reason');
    expect(await t.inputValue('#url')).toBe(gambling());
    expect(await t.textContent('main')).toContain('gambling');
    await t.check('input[name=for][value=group]');
    await t.selectOption('#group', 'ks2');
    await t.check('input[name=duration][value=lesson]');
    await t.check('input[name=scope][value=site]');
    await t.fill('#reason', 'Year 6 maths: probability and why betting loses money');
    await shot(t, 'unblock-request');
    await t.click('text=Send the request');
    await t.waitForSelector('text=waiting for a technician');
    const id = Number(/\/unblocks\/(\d+)$/.exec(t.url())![1]);

    // The technician approves it.
    const a = await technician.newPage();
    await a.goto(`${app.url}/unblocks`);
    await signIn(a, 'it.tech');
    await a.waitForSelector('text=Waiting for you');
    await a.click(`a[href="/unblocks/${id}"]`);
    await a.waitForSelector('text=Approve');
    await shot(a, 'unblock-approve');
    await a.click('button:has-text("Approve")');
    await a.waitForSelector('text=in force');

    // Within a second, the pupil's next request goes through.
    expect((await p.goto(gambling()))?.status()).toBe(200);
    // The teacher sees it in force.
    await t.goto(`${app.url}/unblocks`);
    expect(await t.textContent('main')).toMatch(/in force: \d+ min left/);

    // An hour later (the lesson), it has ended by itself.
    clock += 61 * 60_000;
    expect((await p.goto(gambling()))?.status()).toBe(403);
    await t.goto(`${app.url}/unblocks/${id}`);
    expect(await t.textContent('main')).toContain('ended');
    for (const page of [p, t, a]) await page.close();
  });

  it('a technician changes KS2\'s level for games, previews it, saves it, and the proxy follows', async () => {
    const p = await pupil.newPage();
    const games = `http://games.selftest.invalid:${originPort}/play`;
    expect((await p.goto(games))?.status()).toBe(403);
    const a = await technician.newPage();
    await a.goto(`${app.url}/policy`);
    await a.waitForSelector('select[name="level.ks2.games"]');
    // Illegal content is shown locked, with nothing to change.
    expect(await a.locator('select[name="level.ks2.iwf"]').count()).toBe(0);
    await a.selectOption('select[name="level.ks2.games"]', 'allow');
    await a.fill('#reason', 'Golden time games all week in the last week of term');
    await a.click('text=Preview the change');
    await a.waitForSelector('text=Check the change');
    expect(await a.textContent('main')).toContain('KS2 pupils will now be able to reach: games');
    await a.click('text=Save and apply');
    await a.waitForSelector('text=Configuration versions');
    expect(await a.textContent('main')).toContain('Golden time games all week');
    expect((await p.goto(games))?.status()).toBe(200);
    // Test a URL says the same.
    await a.goto(`${app.url}/test-url?url=${encodeURIComponent(games)}&group=ks2`);
    expect(await a.textContent('h2')).toBe('ALLOW');
    await shot(a, 'test-a-url');
    await p.close();
    await a.close();
  });

  it('a forged form from another site changes nothing, and markup in a reason stays text', async () => {
    const t = await teacher.newPage();
    await t.goto(`${app.url}/unblocks/new?url=${encodeURIComponent(`http://chat.selftest.invalid:${originPort}/`)}`);
    await t.check('input[name=for][value=me]');
    await t.fill('#reason', 'Pen pals <img src=x onerror="document.title=\'pwned\'"> <script>document.title="pwned"</script>');
    await t.click('text=Send the request');
    await t.waitForSelector('text=waiting for a technician');
    const id = Number(/\/unblocks\/(\d+)$/.exec(t.url())![1]);

    // The technician views it: the markup is shown as text and never runs.
    const a = await technician.newPage();
    await a.goto(`${app.url}/unblocks/${id}`);
    expect(await a.title()).not.toBe('pwned');
    expect(await a.locator('main img').count()).toBe(0);
    expect(await a.textContent('main')).toContain('<script>document.title="pwned"</script>');

    // A page elsewhere posts an approval form to the app in the technician's browser.
    evil.removeAllListeners('request');
    evil.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id="f" method="post" action="${app.url}/unblocks/${id}/approve"><input name="note" value="forged"></form><script>document.getElementById('f').submit()</script>`);
    });
    const e = await technician.newPage();
    const answer = e.waitForResponse((r) => r.url().endsWith(`/unblocks/${id}/approve`));
    await e.goto(`http://127.0.0.1:${evilPort}/`);
    expect((await answer).status()).toBe(403);
    expect(app.unblocks.get(id)!.state).toBe('requested');
    for (const page of [t, a, e]) await page.close();
  });
});
