// A real Chromium through Schoolgate with HTTPS inspection on. Chromium is told to trust the
// key every Schoolgate leaf certificate carries (--ignore-certificate-errors-spki-list), as a
// device with the school's root installed would trust the certificates themselves. It gets the
// block page over HTTPS (read back from a screenshot), a warn page whose continue button works
// over HTTPS, and a decrypted allowed page relayed from an origin the proxy verified.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { initCa } from '../../src/tls/ca.js';
import { CertificateCache } from '../../src/tls/cert-cache.js';
import { makeCa, makeServerCert } from '../helpers/list-server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startProxy } from '../helpers/proxy.js';

const run = promisify(execFile);
const tmp = tempDir();
let browser: Browser;
let context: BrowserContext;
let origin: https.Server;
let originPort = 0;
let proxy: Proxy;

beforeAll(async () => {
  const ca = initCa(join(tmp.dir, 'data'), { schoolName: 'Browser Test School' });
  const certs = new CertificateCache(ca);
  const upstream = makeCa('Upstream test CA');
  writeFileSync(join(tmp.dir, 'upstream-ca.pem'), upstream.certPem);
  const cert = makeServerCert(upstream, ['games.selftest.invalid', 'site.example.test']);
  origin = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>origin</title><p id="hello">hello over https from ${req.headers.host}</p>`);
  });
  originPort = await new Promise((r) => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
  // Staff: adult content blocked, games warned (the shipped policy).
  const yaml = `proxy:
  networks:
    - { cidr: 127.0.0.0/8, group: staff }
  connectPorts: [443, ${originPort}]
  allowPrivate: [127.0.0.0/8]
  resolve:
    "*.selftest.invalid": 127.0.0.1
    "*.example.test": 127.0.0.1
tls:
  intercept:
    staff: { categories: all }
  upstreamCAs: [${join(tmp.dir, 'upstream-ca.pem')}]
`;
  let port: number;
  ({ proxy, port } = await startProxy(tmp.dir, yaml, undefined, { tls: { context: (h) => certs.context(h), caCertPem: ca.certPem } }));
  const spki = createHash('sha256').update(ca.leafPublicDer).digest('base64');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
  context = await browser.newContext({ proxy: { server: `http://127.0.0.1:${port}` } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await closeAll(origin, proxy);
  tmp.cleanup();
});

describe('Chromium with HTTPS inspection', () => {
  it('shows the block page over HTTPS instead of a connection error', async () => {
    const page = await context.newPage();
    const res = await page.goto(`https://adult.selftest.invalid:${originPort}/video`);
    expect(res?.status()).toBe(403);
    expect(page.url()).toBe(`https://adult.selftest.invalid:${originPort}/video`);
    expect(await page.textContent('h1')).toBe('This page is blocked');
    const shot = join(tmp.dir, 'https-block.png');
    await page.screenshot({ path: shot });
    const { stdout } = await run('tesseract', [shot, '-']);
    const seen = stdout.replace(/\s+/g, ' ');
    expect(seen).toContain('This page is blocked');
    expect(seen).toContain('Category: adult');
    await page.close();
  });

  it('opens a decrypted allowed site', async () => {
    const page = await context.newPage();
    const res = await page.goto(`https://site.example.test:${originPort}/`);
    expect(res?.status()).toBe(200);
    expect(await page.textContent('#hello')).toBe(`hello over https from site.example.test:${originPort}`);
    await page.close();
  });

  it('warns about a games site over HTTPS, and the continue button leads on to it', async () => {
    const page = await context.newPage();
    const first = await page.goto(`https://games.selftest.invalid:${originPort}/play`);
    expect(first?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('Are you sure?');
    await page.click('text=Continue to the page');
    await page.waitForSelector('#hello');
    expect(page.url()).toBe(`https://games.selftest.invalid:${originPort}/play`);
    expect(await page.textContent('#hello')).toBe(`hello over https from games.selftest.invalid:${originPort}`);
    await page.close();
  });
});
