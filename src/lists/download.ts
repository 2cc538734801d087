// Fetches one list file from an https:// address into a local file. The body is streamed to
// disk (a list archive can be hundreds of megabytes; it never sits whole in memory), and
// everything that can go wrong becomes a DownloadError whose message a technician can act on.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';

/** The whole download, redirects included, must finish within this (a stalled server would otherwise hold an update forever). */
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** UT1's archive is tens of megabytes; anything near this is not a list. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const MAX_REDIRECTS = 3;

export interface DownloadOptions {
  /** Extra CA certificates (PEM) to trust besides the usual ones, for a list server with its own CA. */
  ca?: Buffer;
  timeoutMs?: number;
  maxBytes?: number;
  /** Validators of the copy in use: sent as If-None-Match / If-Modified-Since. */
  etag?: string;
  lastModified?: string;
  signal?: AbortSignal;
  /** Mode of the file created at `dest` (0o600 for sensitive lists); default 0o644. */
  mode?: number;
}

export interface DownloadResult {
  status: 'downloaded' | 'not-modified';
  bytes: number;
  etag?: string;
  lastModified?: string;
}

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  /** The address as shown in the message (credentials and query removed). */
  readonly url: string;

  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
  }
}

/**
 * The address as it may appear in logs and messages: a list address can carry an access token
 * (IWF members' feeds do), in the query or as user:password, so both are left out.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const query = u.search !== '' ? '?…' : '';
    u.search = '';
    u.hash = '';
    return `${u.toString()}${query}`;
  } catch {
    return url.length > 200 ? `${url.slice(0, 200)}…` : url;
  }
}

/**
 * Downloads `url` to the new file `dest` (which must not exist; it is removed again when the
 * download fails). With `etag`/`lastModified`, a server that still has the same copy answers 304
 * and nothing is written.
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const shown = displayUrl(url);
  const fail = (message: string, cause?: unknown): DownloadError =>
    new DownloadError(shown, `download of ${shown} failed: ${message}`, cause === undefined ? undefined : { cause });

  let target = httpsUrl(url);
  if (target === undefined) throw fail('only https:// addresses are accepted (a list fetched in clear text could be altered on the way)');

  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(fail(`no complete answer within ${seconds(timeoutMs)}`)), timeoutMs);
  timer.unref();
  const onCallerAbort = (): void => abort.abort(fail('cancelled'));
  if (opts.signal?.aborted) onCallerAbort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const headers: OutgoingHttpHeaders = { 'user-agent': 'schoolgate-lists', accept: '*/*' };
  if (opts.etag !== undefined) headers['if-none-match'] = opts.etag;
  if (opts.lastModified !== undefined) headers['if-modified-since'] = opts.lastModified;
  const ca = opts.ca === undefined ? undefined : [...defaultCas(), opts.ca.toString('utf8')];
  let file: WriteStream | undefined;
  let created = false;

  try {
    for (let redirects = 0; ; redirects++) {
      const res = await get(target, headers, ca, abort.signal);
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location !== undefined) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects`);
        const next = httpsUrl(res.headers.location, target);
        if (next === undefined) throw fail(`the server redirected to ${displayUrl(res.headers.location)}, which is not an https:// address`);
        target = next;
        continue;
      }
      if (status === 304) {
        res.resume();
        if (opts.etag === undefined && opts.lastModified === undefined) throw fail('the server answered 304 Not Modified to a request for the whole file');
        return { status: 'not-modified', bytes: 0, ...validators(res.headers, opts) };
      }
      if (status < 200 || status > 299 || status === 206) {
        res.resume();
        throw fail(`the server answered ${status} ${res.statusMessage ?? ''}`.trimEnd());
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.resume();
        throw fail(`the file is ${megabytes(declared)}, more than the ${megabytes(maxBytes)} limit`);
      }
      let bytes = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
          bytes += chunk.length;
          if (bytes > maxBytes) done(fail(`the file is larger than the ${megabytes(maxBytes)} limit`));
          else done(null, chunk);
        },
      });
      // flush: fsync on close, so a power cut after the swap cannot leave an empty list in use.
      file = createWriteStream(dest, { flags: 'wx', mode: opts.mode ?? 0o644, flush: true });
      file.once('open', () => { created = true; });
      await pipeline(res, limit, file, { signal: abort.signal });
      return { status: 'downloaded', bytes, ...validators(res.headers, {}) };
    }
  } catch (err) {
    if (file !== undefined) {
      // The open may still be under way when the body fails: wait for the close, or the file appears after we look.
      const f = file;
      if (!f.closed) await new Promise<void>((resolve) => f.once('close', () => resolve()));
      if (created) await rm(dest, { force: true });
    }
    if (abort.signal.aborted && abort.signal.reason instanceof DownloadError) throw abort.signal.reason;
    if (err instanceof DownloadError) throw err;
    throw fail(describe(err, target), err);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function httpsUrl(address: string, base?: URL): URL | undefined {
  try {
    const u = new URL(address, base);
    return u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** The usual trust store (Node's bundled roots, or the system's with --use-system-ca, plus NODE_EXTRA_CA_CERTS). */
function defaultCas(): readonly string[] {
  // getCACertificates is Node ≥ 22.15 / 23.10; older Nodes only have the bundled roots.
  const get = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  return get?.('default') ?? tls.rootCertificates;
}

function get(target: URL, headers: OutgoingHttpHeaders, ca: string[] | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // agent: false, so a connection is never kept alive between the rare list fetches.
    const req = https.get(target, { headers, agent: false, signal, ...(ca === undefined ? {} : { ca }) }, resolve);
    req.on('error', reject);
  });
}

function validators(h: IncomingHttpHeaders, fallback: { etag?: string; lastModified?: string }): { etag?: string; lastModified?: string } {
  const etag = h.etag ?? fallback.etag;
  const lastModified = h['last-modified'] ?? fallback.lastModified;
  return { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };
}

const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ISSUER/;

/** Node's error, said in terms of what to check. */
function describe(err: unknown, target: URL): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(err);
  const where = `${target.hostname}:${target.port === '' ? '443' : target.port}`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server's certificate is not for ${target.hostname} (${message})`;
  if (code !== undefined && CERT_CODE.test(code)) {
    return `the server's certificate is not trusted (${code}: ${message}); if the list server uses its own certificate authority, set "ca:" on the source to its PEM file`;
  }
  switch (code) {
    case 'ECONNREFUSED': return `connection refused by ${where} (is the address right and the server up?)`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot find the address of ${target.hostname} (check the name and the server's DNS)`;
    case 'ECONNRESET': return `the connection to ${where} was cut off (${message})`;
    case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH': return `cannot reach ${where} (${code}; check the network and any firewall)`;
    case 'EEXIST': return `the file to download into already exists (${message})`;
    default: return code === undefined ? message : `${code}: ${message}`;
  }
}

function megabytes(n: number): string {
  return n < 1024 * 1024 ? `${n} bytes` : `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
