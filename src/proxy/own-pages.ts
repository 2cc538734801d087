// The proxy's own pages: origin-form requests to the proxy, and absolute ones to proxy.pageHost
// (gate.ts targetOf says which). A health check, the PAC file, the school's CA certificate and
// how to install it, the "report a concern" form, and the warn page's "continue".
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normaliseUrl } from '../classify/normalise-url.js';
import { clientAddress } from '../net/ip.js';
import { askToSignIn, pageOrigin, plain, send, wantsHtml } from './answers.js';
import { innerOf } from './decrypted-tunnel.js';
import { whoKey, type GateSnapshot, type KnownIdentity } from './gate.js';
import { PAC_CONTENT_TYPE, pacScript } from './pac.js';
import { caInstallPage, concernForm, messagePage } from './pages.js';
import type { ShellContext } from './shell-context.js';
import { identify } from './sign-in.js';

export async function ownPages(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
  const { config, classifier } = snap;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  if (path === '/healthz') return plain(res, 200, 'ok\n');
  if (path === '/proxy.pac' || path === '/wpad.dat') {
    const hostHeader = req.headers.host ?? '';
    const proxyHost = hostHeader.replace(/:\d+$/, '') || clientAddress(req.socket.localAddress) || '127.0.0.1';
    res.writeHead(200, { 'content-type': PAC_CONTENT_TYPE, 'cache-control': 'max-age=300' });
    res.end(pacScript({ proxyHost, proxyPort: req.socket.localPort ?? config.proxy.port, direct: config.proxy.pacDirect }));
    return;
  }
  if (path === '/ca' || path === '/ca.crt' || path === '/ca.pem') return caPages(snap, req, res, path);
  if (path === '/') {
    const lists = classifier.matcher.stats.length;
    return plain(res, 200, `Schoolgate for ${config.school.name}: filtering with ${lists} lists and ${config.policy.groups.size} groups.\nSet this proxy in the browser, or use http://${req.headers.host ?? 'this-host'}/proxy.pac.\n`);
  }
  if (path === '/concern' || path === '/continue') {
    // Inside a decrypted tunnel to the page host, the person is whoever opened the tunnel:
    // requests there carry no Proxy-Authorization.
    const who = innerOf(req)?.who ?? await identify(ctx, snap, req);
    if (who.kind === 'refused') return askToSignIn(res, who);
    if (path === '/concern') return concern(ctx, snap, req, res, query, who);
    return continueAfterWarn(ctx, snap, req, res, who);
  }
  plain(res, 404, 'Not found.\n');
}

/** The school's root certificate for devices to install, and how to install it. */
function caPages(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, path: string): void {
  const { config } = snap;
  const certs = snap.tls;
  if (!certs) return plain(res, 404, 'HTTPS inspection is not set up on this proxy (npx schoolgate ca init).\n');
  const pem = certs.caCertPem;
  if (path === '/ca.pem') {
    res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-disposition': 'attachment; filename="schoolgate-ca.pem"', 'cache-control': 'no-cache' });
    return void res.end(req.method === 'HEAD' ? undefined : pem);
  }
  const der = new crypto.X509Certificate(pem).raw;
  if (path === '/ca.crt') {
    // DER with this type is what Windows, macOS, ChromeOS and iOS offer to install.
    res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert', 'content-disposition': 'attachment; filename="schoolgate-ca.crt"', 'content-length': String(der.length), 'cache-control': 'no-cache' });
    return void res.end(req.method === 'HEAD' ? undefined : der);
  }
  const origin = req.headers.host ? `http://${req.headers.host}` : `http://${config.proxy.pageHost}`;
  const fingerprint = crypto.createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
  send(req, res, caInstallPage({ school: config.school.name, html: wantsHtml(req), certUrl: `${origin}/ca.crt`, pemUrl: `${origin}/ca.pem`, fingerprint }));
}

async function concern(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, who: KnownIdentity): Promise<void> {
  const { config } = snap;
  const page = { school: config.school.name, html: wantsHtml(req) };
  if (req.method === 'GET' || req.method === 'HEAD') {
    return send(req, res, concernForm({ ...page, action: `${pageOrigin(snap, req)}/concern`, reference: clip(query.get('ref'), 16), url: clip(query.get('url'), 4096) }));
  }
  if (req.method !== 'POST') return plain(res, 405, 'Use the form on the page.\n');
  const form = await readForm(req);
  const text = form?.get('text')?.trim() ?? '';
  if (form === null || text === '') return send(req, res, messagePage({ ...page, status: 400, title: 'Nothing was sent', lines: ['Write what worries you in the box, then press Send. You can also talk to a teacher.'] }));
  if (!ctx.concerns) return send(req, res, messagePage({ ...page, status: 503, title: 'Not sent', lines: ['This proxy cannot store reports. Please tell a teacher instead.'] }));
  const address = req.socket.remoteAddress ?? '';
  const id = ctx.concerns.record({
    at: new Date(ctx.now()), reference: clip(form.get('ref'), 16) || null, url: clip(form.get('url'), 4096) || null,
    group: who.group, user: who.user ?? null, address, text,
  });
  // The report itself is in the database: the log says only that one arrived.
  ctx.log.warn({ concern: id, group: who.group, user: who.user, address }, 'concern reported');
  send(req, res, messagePage({ ...page, status: 200, title: 'Thank you', lines: [`Your report has been sent to the school's safeguarding team (number ${id}).`, 'If you are worried right now, talk to a teacher or call Childline on 0800 1111.'] }));
}

async function continueAfterWarn(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, who: KnownIdentity): Promise<void> {
  const { config } = snap;
  const page = { school: config.school.name, html: wantsHtml(req) };
  const form = req.method === 'POST' ? await readForm(req) : null;
  const target = form?.get('url') ?? '';
  let url;
  try {
    url = normaliseUrl(target);
  } catch {
    url = null;
  }
  if (!form || !url || (url.scheme !== 'http' && url.scheme !== 'https') || !ctx.warned.accept(form.get('token') ?? '', whoKey(req.socket.remoteAddress, who), url.host, config.policy.warnRememberMs, ctx.now())) {
    return send(req, res, messagePage({ ...page, status: 400, title: 'This link has expired', lines: ['Go back and open the page again.'] }));
  }
  ctx.log.info({ group: who.group, user: who.user, address: req.socket.remoteAddress, host: url.host }, 'warn page: the person continued');
  res.writeHead(303, { location: target, 'cache-control': 'no-store', 'content-length': '0' });
  res.end();
}

function clip(v: string | null, max: number): string {
  return (v ?? '').slice(0, max);
}

const MAX_FORM_BYTES = 16_384;

/** An application/x-www-form-urlencoded body of at most 16 KiB, or null. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
