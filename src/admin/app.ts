// The staff web app: one fastify instance, server-rendered pages over the same routes the API
// uses. A route answers JSON to API clients and HTML (or a redirect after a form) to browsers.
// No JavaScript is needed anywhere: old school PCs and iPads get plain forms that always work.
import type tls from 'node:tls';
import type { Database } from 'better-sqlite3';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Classifier } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { SessionStore } from '../store/sessions.js';
import type { UnblockStore } from '../store/unblocks.js';
import type { Role } from '../store/user-rules.js';
import type { UserRow, UserStore } from '../store/users.js';
import { SignInLimiter } from '../identity/failures.js';
import { AdminError, type ErrorCode } from './errors.js';
import { html, page, type Html, type Viewer } from './html.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerUnblockRoutes } from './unblock-routes.js';
import { registerPolicyRoutes } from './policy-routes.js';
import type { ConfigApplier } from './policy-edit.js';

export interface AdminDeps {
  readonly db: Database;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly unblocks: UnblockStore;
  /** The running configuration and classifier (with unblocks applied). */
  readonly source: { readonly classifier: Classifier; readonly config: SchoolgateConfig };
  /** Called after an unblock changes, so the proxy's policy follows within a second. */
  readonly unblocksChanged: () => void;
  /** Writes a new configuration text, checks it, and reloads the running Schoolgate with it. */
  readonly applyConfig?: ConfigApplier;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Tells a requester about a decision by e-mail, where they have an address and SMTP is set up. */
  readonly mail?: (to: string, subject: string, text: string) => Promise<void>;
  /** Cookies marked Secure (the app is served over HTTPS, or behind an HTTPS front end). */
  readonly secureCookies?: boolean;
  /** Serve HTTPS with these TLS options (certificates from the school's CA). */
  readonly https?: tls.TlsOptions;
}

/** A signed-in request: who, with which roles, and the CSRF token their forms carry. */
export interface Signed {
  readonly user: UserRow;
  readonly viewer: Viewer;
}

export const SESSION_COOKIE = 'sg_session';

declare module 'fastify' {
  interface FastifyRequest {
    signed: Signed | null;
  }
}

export interface AdminApp {
  readonly app: FastifyInstance;
  /** The guard for routes (spread into the route's options): a signed-in person holding at least one of these roles. */
  readonly signedIn: (...roles: Role[]) => Guard;
}

export interface Guard {
  readonly onRequest: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  readonly preValidation: (req: FastifyRequest) => Promise<void>;
}

export function buildAdminApp(deps: AdminDeps): FastifyInstance {
  const options = { logger: false, bodyLimit: 64 * 1024, trustProxy: false, return503OnClosing: true } as const;
  // Fastify's types choose the server by the `https` option: one instance type is kept for both.
  const app = (deps.https ? Fastify({ ...options, https: deps.https }) : Fastify(options)) as unknown as FastifyInstance;
  app.decorateRequest('signed', null);
  // Forms arrive as application/x-www-form-urlencoded: read into a plain object (last value wins).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cache-control', 'no-store');
  });
  // Who is asking, for every request: the session cookie, if any, and its live user.
  app.addHook('onRequest', async (req) => {
    const token = cookie(req.headers.cookie, SESSION_COOKIE);
    const session = deps.sessions.find(token);
    if (!session) return;
    const user = deps.users.byId(session.userId);
    if (!user || user.disabled || user.roles.length === 0) return;
    req.signed = { user, viewer: { username: user.username, displayName: user.displayName, roles: user.roles, csrf: session.csrf } };
  });

  app.setErrorHandler((err: Error & { validation?: { instancePath?: string; params?: { missingProperty?: string } }[]; statusCode?: number }, req, reply) => {
    let e: AdminError;
    if (err instanceof AdminError) e = err;
    else if (err.validation) {
      const v = err.validation[0];
      const field = v?.params?.missingProperty ?? v?.instancePath?.replace(/^\//, '') ?? undefined;
      e = new AdminError('invalid', `${field ? `${field}: ` : ''}${err.message.replace(/^(body|querystring|params)\/?\S*\s/, '')}`, field || undefined);
    } else if (err.statusCode === 413) e = new AdminError('invalid', 'That was too much to send.');
    else if (err.statusCode === 415 || err.statusCode === 400) e = new AdminError('invalid', err.message);
    else {
      deps.log.error({ err: String(err.stack ?? err), url: req.url }, 'staff app: request failed');
      return reply.code(500).type('text/plain; charset=utf-8').send('Something went wrong. It has been logged.\n');
    }
    return sendError(req, reply, deps, e);
  });
  app.setNotFoundHandler((req, reply) => sendError(req, reply, deps, new AdminError('not-found', 'There is no such page.')));

  // Who may: checked when the request arrives, before its body is read or validated, so a
  // stranger learns nothing from the schema. The CSRF token is checked once the body is parsed
  // (a form sends it as a field), still before anything runs.
  const signedIn = (...roles: Role[]): Guard => ({
    onRequest: async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const s = req.signed;
      if (!s) {
        if (wantsHtml(req) && req.method === 'GET') return void reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
        throw new AdminError('not-signed-in', 'Sign in first.');
      }
      if (roles.length > 0 && !roles.some((r) => s.user.roles.includes(r))) {
        throw new AdminError('forbidden', `This page is for ${roles.join(' or ')} only.`);
      }
    },
    preValidation: async (req: FastifyRequest): Promise<void> => {
      if (req.method === 'GET' || req.method === 'HEAD') return;
      const body = req.body as Record<string, unknown> | undefined;
      const sent = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? headerValue(req.headers['x-csrf-token']);
      if (sent !== req.signed!.viewer.csrf) throw new AdminError('csrf', 'This form has expired or came from elsewhere. Go back, reload the page and try again.');
    },
  });

  const ctx: AdminApp = { app, signedIn };
  registerAuthRoutes(ctx, deps, new SignInLimiter({ ...(deps.now ? { now: () => deps.now!().getTime() } : {}) }));
  registerUnblockRoutes(ctx, deps);
  registerPolicyRoutes(ctx, deps);

  app.get('/', { ...signedIn() }, async (req, reply) => {
    const v = req.signed!.viewer;
    const links = [
      v.roles.some((r) => r === 'teacher' || r === 'technician' || r === 'slt') ? html`<li><a href="/unblocks">Unblock requests</a>: yours, and those waiting for you</li>` : null,
      html`<li><a href="/unblocks/new">Ask for a site to be unblocked</a> for a lesson</li>`,
      v.roles.some((r) => r === 'technician' || r === 'slt' || r === 'governor') ? html`<li><a href="/policy">Filter levels</a>: what each group may reach</li>` : null,
      html`<li><a href="/test-url">Test a URL</a>: what Schoolgate would do, and why</li>`,
      v.roles.includes('dsl') ? html`<li>Safeguarding alerts: <code>npx schoolgate alerts</code> until the alert inbox arrives here</li>` : null,
    ];
    // The school's name heads its own start page; the page title adds "· Schoolgate" once.
    return sendPage(reply, deps, v, deps.source.config.school.name, html`<ul>${links}</ul>`);
  });
  return app;
}

export function sendPage(reply: FastifyReply, deps: AdminDeps, viewer: Viewer | null, title: string, body: Html, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page({ title, school: deps.source.config.school.name, viewer, body }).text);
}

function sendError(req: FastifyRequest, reply: FastifyReply, deps: AdminDeps, e: AdminError): FastifyReply {
  if (!wantsHtml(req)) return reply.code(e.status).send({ error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
  const titles: Record<ErrorCode, string> = {
    'not-signed-in': 'Sign in first', 'sign-in-failed': 'Sign-in failed', forbidden: 'Not for your role', csrf: 'This form has expired',
    'not-found': 'Not found', invalid: 'Please check what you entered', illegal: 'This cannot be unblocked', conflict: 'Already decided', locked: 'Too many attempts',
  };
  return sendPage(reply, deps, req.signed?.viewer ?? null, titles[e.code], html`<p class="error">${e.message}</p><p><a href="/">Back to the start</a></p>`, e.status);
}

/** Browsers (HTML pages, form posts) rather than API clients (JSON). */
export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  if (accept.includes('application/json')) return false;
  return accept.includes('text/html') || (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** After a form: back to a page (303); for the API, the JSON result. */
export function done(req: FastifyRequest, reply: FastifyReply, location: string, json: unknown, status = 200): FastifyReply {
  if (wantsHtml(req)) return reply.redirect(location, 303);
  return reply.code(status).send(json);
}

export function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
