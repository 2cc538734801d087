// download() against a real local HTTPS server: what is written, and what each failure says.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, DownloadError, displayUrl } from '../../src/lists/download.js';
import { etagOf, makeCa, makeServerCert, serve, startListServer, type ListServer } from '../helpers/list-server.js';

let dir: string;
let server: ListServer;
let ca: Buffer;
/** Responses held open by "stalling" routes; ended in afterAll. */
const held: ServerResponse[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sg-download-'));
  const authority = makeCa('Schoolgate download test CA');
  ca = Buffer.from(authority.certPem);
  server = await startListServer(makeServerCert(authority));
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const dest = (): string => join(dir, `file-${++n}`);

async function failure(p: Promise<unknown>): Promise<DownloadError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

describe('download', () => {
  it('streams a large body to the file and returns its validators', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    server.routes.set('/big', serve(body));
    const to = dest();
    const r = await download(server.url('/big'), to, { ca, mode: 0o600 });
    expect(r).toEqual({ status: 'downloaded', bytes: body.length, etag: etagOf(body) });
    expect(readFileSync(to).equals(body)).toBe(true);
    expect(statSync(to).mode & 0o777).toBe(0o600);
  });

  it('answers not-modified on 304 and writes nothing', async () => {
    server.routes.set('/same', serve('a.test\n'));
    const to = dest();
    const r = await download(server.url('/same'), to, { ca, etag: etagOf('a.test\n') });
    expect(r).toMatchObject({ status: 'not-modified', bytes: 0, etag: etagOf('a.test\n') });
    expect(existsSync(to)).toBe(false);
  });

  it('sends If-Modified-Since', async () => {
    const since = 'Wed, 01 Jan 2025 00:00:00 GMT';
    server.routes.set('/since', (req, res) => {
      if (req.headers['if-modified-since'] === since) res.writeHead(304).end();
      else res.writeHead(200).end('x.test\n');
    });
    const r = await download(server.url('/since'), dest(), { ca, lastModified: since });
    expect(r).toMatchObject({ status: 'not-modified', lastModified: since });
  });

  it('accepts only https:// addresses', async () => {
    const err = await failure(download('http://127.0.0.1:1/list', dest(), { ca }));
    expect(err.message).toMatch(/^download of http:\/\/127\.0\.0\.1:1\/list failed: only https:\/\/ addresses are accepted/);
  });

  it('refuses a body larger than maxBytes, declared or not, and removes the partial file', async () => {
    server.routes.set('/declared', serve(Buffer.alloc(5000)));
    server.routes.set('/chunked', (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(3000));
      res.end(Buffer.alloc(3000));
    });
    const declared = dest();
    expect((await failure(download(server.url('/declared'), declared, { ca, maxBytes: 4096 }))).message)
      .toMatch(/the file is 5000 bytes, more than the 4096 bytes limit/);
    expect(existsSync(declared)).toBe(false);
    const chunked = dest();
    expect((await failure(download(server.url('/chunked'), chunked, { ca, maxBytes: 4096 }))).message)
      .toMatch(/larger than the 4096 bytes limit/);
    expect(existsSync(chunked)).toBe(false);
  });

  it('gives up after timeoutMs when the server stalls, mid-body too', async () => {
    server.routes.set('/silent', (_req, res) => { held.push(res); });
    server.routes.set('/stalls', (_req, res) => {
      held.push(res);
      res.writeHead(200, { 'content-length': 1000 });
      res.write('partial.test\n');
    });
    expect((await failure(download(server.url('/silent'), dest(), { ca, timeoutMs: 300 }))).message)
      .toMatch(/failed: no complete answer within 300 ms/);
    const to = dest();
    expect((await failure(download(server.url('/stalls'), to, { ca, timeoutMs: 300 }))).message)
      .toMatch(/no complete answer within 300 ms/);
    expect(existsSync(to)).toBe(false);
  });

  it('stops when the caller aborts', async () => {
    server.routes.set('/slow', (_req, res) => { held.push(res); });
    const abort = new AbortController();
    const p = download(server.url('/slow'), dest(), { ca, signal: abort.signal });
    abort.abort();
    expect((await failure(p)).message).toMatch(/failed: cancelled/);
  });

  it('never overwrites an existing file', async () => {
    server.routes.set('/x', serve('x.test\n'));
    const to = dest();
    writeFileSync(to, 'keep me');
    expect((await failure(download(server.url('/x'), to, { ca }))).message).toMatch(/already exists/);
    expect(readFileSync(to, 'utf8')).toBe('keep me');
  });

  it('keeps credentials and query strings out of its messages', async () => {
    server.routes.set('/feed?token=s3cret', (_req, res) => { res.writeHead(403, 'Forbidden').end(); });
    const url = `https://member:pa55word@127.0.0.1:${server.port}/feed?token=s3cret`;
    const err = await failure(download(url, dest(), { ca }));
    expect(err.message).toBe(`download of https://127.0.0.1:${server.port}/feed?… failed: the server answered 403 Forbidden`);
    expect(err.url).toBe(displayUrl(url));
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('member:pa55word').toString('base64')}`);
  });

  it('trusts the usual roots and the extra CA together (a public server would still verify)', async () => {
    // Without the extra CA the local server is not trusted; with it, it is.
    server.routes.set('/ok', serve('ok.test\n'));
    expect((await failure(download(server.url('/ok'), dest(), {}))).message).toMatch(/certificate is not trusted/);
    await expect(download(server.url('/ok'), dest(), { ca })).resolves.toMatchObject({ status: 'downloaded' });
  });
});
