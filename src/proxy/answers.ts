// The proxy's answers written on a response: plain text, the gate's plain answers, a sign-in
// request, and the pages of pages.ts (block, warn, messages) with their links back to the
// proxy's own pages and to the staff app.
import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminConfig } from '../admin/config.js';
import { clientAddress, ipFamily } from '../net/ip.js';
import type { Decision } from '../policy/types.js';
import { innerOf } from './decrypted-tunnel.js';
import { reasonOf, whoKey, type GateSnapshot, type KnownIdentity, type PlainAnswer } from './gate.js';
import { blockPage, messagePage, warnPage, type Page } from './pages.js';
import type { ShellContext } from './shell-context.js';

export function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

/** A plain answer from the gate: its own headers when it gives them, else plain text. */
export function answer(res: ServerResponse, a: PlainAnswer): void {
  if (!a.headers) return plain(res, a.status, a.body);
  res.writeHead(a.status, a.headers);
  res.end(a.body === '' ? undefined : a.body);
}

/** A refused sign-in: 407 with the challenge, or 403 while the device is locked out. */
export function askToSignIn(res: ServerResponse, a: { readonly status: number; readonly headers: Record<string, string>; readonly body: string }): void {
  res.writeHead(a.status, { 'content-type': 'text/plain; charset=utf-8', ...a.headers });
  res.end(a.body);
}

export function send(req: IncomingMessage, res: ServerResponse, page: Page, headers: Record<string, string> = {}): void {
  res.writeHead(page.status, { 'content-type': page.contentType, 'cache-control': 'no-store', ...headers });
  res.end(req.method === 'HEAD' ? undefined : page.body);
}

export function sendPage(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, status: number, title: string, text: string): void {
  send(req, res, messagePage({ school: snap.config.school.name, status, title, lines: [text], html: wantsHtml(req) }));
}

export function sendBlock(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, url: string, d: Decision): void {
  const ref = reference();
  const page = blockPage({ school: snap.config.school.name, url, decision: d, reference: ref, html: wantsHtml(req), ...pageLinks(snap, req, url, ref, d) });
  send(req, res, page, { 'x-schoolgate-reason': headerSafe(d.rule.kind === 'illegal' ? 'illegal' : d.rule.text) });
}

export function sendWarn(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, url: string, host: string, who: KnownIdentity, d: Decision): void {
  const { config } = snap;
  const ref = reference();
  const page = warnPage({
    school: config.school.name, url, decision: d, reference: ref, html: wantsHtml(req),
    continueUrl: `${pageOrigin(snap, req)}/continue`, token: ctx.warned.token(whoKey(req.socket.remoteAddress, who), host, ctx.now()),
    rememberMinutes: Math.round(config.policy.warnRememberMs / 60_000), concernUrl: pageLinks(snap, req, url, ref, d).concernUrl,
  });
  send(req, res, page, { 'x-schoolgate-reason': headerSafe(reasonOf(d)) });
}

/**
 * Where links to the proxy's own pages point: over HTTPS from a decrypted page (an insecure
 * form on a secure page makes browsers warn), over HTTP otherwise.
 */
export function pageOrigin(snap: GateSnapshot, req: IncomingMessage): string {
  const host = snap.config.proxy.pageHost;
  return innerOf(req) ? `https://${host}` : `http://${host}`;
}

function pageLinks(snap: GateSnapshot, req: IncomingMessage, url: string, ref: string, d: Decision): { concernUrl: string; unblockUrl?: string } {
  const { config } = snap;
  const concernUrl = `${pageOrigin(snap, req)}/concern?${new URLSearchParams({ ref, url })}`;
  if (d.unblockBy === null || d.unblockBy === 'never') return { concernUrl };
  const app = config.school.staffAppUrl ?? staffAppBeside(req, config.admin);
  if (app === null) return { concernUrl };
  return { concernUrl, unblockUrl: `${app}/unblocks/new?${new URLSearchParams({ url, ref, categories: d.categories.join(',') })}` };
}

/**
 * Where the staff app is when school.staffAppUrl does not say: on this machine, at the address
 * the device reached the proxy on (so it is one the device can reach), on the admin port.
 */
function staffAppBeside(req: IncomingMessage, admin: AdminConfig): string | null {
  const local = req.socket.localAddress;
  if (!local || admin.port === 0) return null;
  const bare = local.replace(/%.*$/, ''); // a link-local zone (%eth0) has no place in a URL
  const v4 = clientAddress(bare);
  return `${admin.https ? 'https' : 'http'}://${ipFamily(v4) === 6 ? `[${v4}]` : v4}:${admin.port}`;
}

export function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function reference(): string {
  // randomInt draws from a pooled buffer: randomBytes(4) was 1–1.6 % of the proxy's profile.
  return randomInt(0x1_0000_0000).toString(16).toUpperCase().padStart(8, '0');
}
