// A real Chromium browsing through Schoolgate: pages load, blocked pages show the block page,
// and HTTPS goes through a CONNECT tunnel.
import type http from 'node:http';
import type https from 'node:https';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy, startTlsOrigin } from '../helpers/proxy.js';

const tmp = tempDir();
let browser: Browser;
let origin: http.Server;
let tlsOrigin: https.Server;
let proxy: Proxy;
let originPort = 0;
let tlsPort = 0;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  ({ server: tlsOrigin, port: tlsPort } = await startTlsOrigin());
  const started = await startProxy(tmp.dir, `proxy:\n  networks:\n    - { cidr: 127.0.0.1/32, group: ks2 }\n  connectPorts: [443, ${tlsPort}]\n  allowPrivate: [127.0.0.0/8]\n`);
  proxy = started.proxy;
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
  await closeAll(origin, tlsOrigin, proxy);
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
    await page.close();
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
