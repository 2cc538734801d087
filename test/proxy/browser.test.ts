// A real Chromium browsing through Schoolgate: pages load, blocked pages show the block page
// (read back from a screenshot by Tesseract OCR), a warn page's continue button leads on to the
// site, "report a concern" reaches the database, and HTTPS goes through a CONNECT tunnel.
import { execFile } from 'node:child_process';
import type http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type https from 'node:https';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { ConcernStore } from '../../src/store/concerns.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy, startTlsOrigin } from '../helpers/proxy.js';

const tmp = tempDir();
let browser: Browser;
let origin: http.Server;
let tlsOrigin: https.Server;
let proxy: Proxy;
let staffProxy: Proxy;
let staffPort = 0;
let originPort = 0;
let tlsPort = 0;
let db: Database;
let concerns: ConcernStore;
const run = promisify(execFile);

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  ({ server: tlsOrigin, port: tlsPort } = await startTlsOrigin());
  db = openDatabase(join(tmp.dir, 'store'));
  concerns = new ConcernStore(db);
  const proxyYaml = (group: string): string => `proxy:\n  networks:\n    - { cidr: 127.0.0.1/32, group: ${group} }\n  connectPorts: [443, ${tlsPort}]\n  allowPrivate: [127.0.0.0/8]\n  resolve:\n    "*.selftest.invalid": 127.0.0.1\n`;
  const started = await startProxy(tmp.dir, proxyYaml('ks2'), undefined, { concerns });
  proxy = started.proxy;
  // The same browser as a member of staff, whom the shipped policy warns about games.
  ({ proxy: staffProxy, port: staffPort } = await startProxy(tmp.dir, proxyYaml('staff')));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Chromium never proxies loopback unless told: <-loopback> removes that exception.
      '--proxy-bypass-list=<-loopback>',
    ],
    proxy: { server: `http://127.0.0.1:${started.port}` },
  });
});

afterAll(async () => {
  await browser?.close();
  await closeAll(origin, tlsOrigin, proxy, staffProxy);
  db.close();
  tmp.cleanup();
});

describe('Chromium through Schoolgate', () => {
  it('loads an allowed page', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://localhost:${originPort}/page`);
    expect(res?.status()).toBe(200);
    expect(await page.textContent('#hello')).toBe('hello from the origin');
    expect(res?.headers().via).toBe('1.1 schoolgate');
    await page.close();
  });

  it('shows the block page for a blocked site', async () => {
    const page = await browser.newPage();
    const res = await page.goto('http://gambling.selftest.invalid/');
    expect(res?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('This page is blocked');
    expect(await page.textContent('body')).toContain('Category: gambling');
    // What is on screen, not only in the DOM: OCR of a screenshot.
    const shot = join(tmp.dir, 'block-page.png');
    await page.screenshot({ path: shot });
    const { stdout } = await run('tesseract', [shot, '-']);
    const seen = stdout.replace(/\s+/g, ' ');
    expect(seen).toContain('This page is blocked');
    expect(seen).toContain('Category: gambling');
    expect(seen).toContain('Report a concern');
    await page.close();
  });

  it('sends a concern from the block page to the database', async () => {
    const page = await browser.newPage();
    await page.goto('http://gambling.selftest.invalid/');
    const ref = /Reference: ([0-9A-F]{8})/.exec(await page.textContent('body') ?? '')?.[1];
    await page.click('text=Report a concern');
    await page.fill('textarea[name=text]', 'An older pupil keeps sending me links like this.');
    await page.click('button[type=submit]');
    expect(await page.textContent('h1')).toBe('Thank you');
    const [stored] = concerns.list(1);
    expect(stored).toMatchObject({ reference: ref, url: 'http://gambling.selftest.invalid/', group: 'ks2', text: 'An older pupil keeps sending me links like this.' });
    await page.close();
  });

  it('warns staff about a games site, and the continue button leads on to it', async () => {
    const context = await browser.newContext({ proxy: { server: `http://127.0.0.1:${staffPort}` } });
    const page = await context.newPage();
    const first = await page.goto(`http://games.selftest.invalid:${originPort}/page`);
    expect(first?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('Are you sure?');
    await page.click('text=Continue to the page');
    await page.waitForSelector('#hello');
    expect(page.url()).toBe(`http://games.selftest.invalid:${originPort}/page`);
    expect(await page.textContent('#hello')).toBe('hello from the origin');
    await context.close();
  });

  it('opens an allowed HTTPS site through a tunnel, and refuses a blocked one', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const ok = await page.goto(`https://localhost:${tlsPort}/`);
    expect(await ok?.text()).toBe('secure hello');
    const refused = await page.goto('https://gambling.selftest.invalid/').then(() => 'loaded', (e: Error) => e.message);
    expect(refused).toMatch(/ERR_TUNNEL_CONNECTION_FAILED/);
    await context.close();
  });
});
