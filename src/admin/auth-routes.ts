// Signing in and out of the staff app. Passwords are the same scrypt hashes as proxy sign-in;
// only people with a staff role may sign in here. Failures from one address are slowed, then
// refused for a while (the same limiter as the proxy's).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SignInLimiter } from '../identity/failures.js';
import { SESSION_COOKIE, cookie, done, sendPage, wantsHtml, type AdminApp, type AdminDeps } from './app.js';
import { AdminError } from './errors.js';
import { html } from './html.js';
import { deviceKey } from '../identity/networks.js';

const LOGIN_BODY = {
  type: 'object',
  required: ['username', 'password'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 }, next: { type: 'string', maxLength: 2048 }, _login: { type: 'string', maxLength: 100 } },
} as const;

export function registerAuthRoutes({ app, signedIn }: AdminApp, deps: AdminDeps, failures: SignInLimiter): void {
  /** The sign-in page, with a fresh form token in a cookie and in the form. */
  const sendLogin = (reply: FastifyReply, next: string, error: string | null, status: number): FastifyReply => {
    const token = randomBytes(18).toString('base64url');
    reply.header('set-cookie', `${LOGIN_COOKIE}=${token}; Path=/login; HttpOnly; SameSite=Lax; Max-Age=3600${deps.secureCookies ? '; Secure' : ''}`);
    return sendPage(reply, deps, null, 'Sign in', loginForm(next, error, token), status);
  };

  app.get<{ Querystring: { next?: string } }>('/login', {
    schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 2048 } } } },
  }, async (req, reply) => {
    if (req.signed) return reply.redirect(safeNext(req.query.next), 303);
    return sendLogin(reply, req.query.next ?? '/', null, 200);
  });

  app.post<{ Body: { username: string; password: string; next?: string; _login?: string } }>('/login', { schema: { body: LOGIN_BODY } }, async (req, reply) => {
    // Counted per device, as the proxy counts it (an IPv6 device by its /64).
    const address = deviceKey(req.socket.remoteAddress ?? '');
    // A form must come from our own sign-in page (its token matches its cookie), so another site
    // cannot sign a browser in to an account of its choosing.
    if (needsFormToken(req) && (!req.body._login || req.body._login !== cookie(req.headers.cookie, LOGIN_COOKIE))) {
      return sendLogin(reply, req.body.next ?? '/', 'That sign-in form had expired. Please try again.', 403);
    }
    const username = req.body.username;
    const locked = failures.lockedFor(address, username);
    if (locked > 0) throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(locked / 60)} minutes.`);
    const counted = failures.attempt(address, username);
    if (counted.kind === 'locked') throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(counted.retryAfterS / 60)} minutes.`);
    const result = await deps.users.verify(req.body.username, req.body.password);
    if (!result.ok || result.user.roles.length === 0) {
      const verdict = failures.failed(address, username);
      if (verdict.kind === 'retry' && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
      deps.log.warn({ username: req.body.username.slice(0, 64), address, reason: result.ok ? 'no staff role' : result.reason }, 'staff app: sign-in failed');
      // One message for every failure: it must not tell a guesser which usernames exist.
      const message = 'That username and password did not match a staff account.';
      if (verdict.kind === 'locked') throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(verdict.retryAfterS / 60)} minutes.`);
      if (wantsHtml(req)) return sendLogin(reply, req.body.next ?? '/', message, 401);
      throw new AdminError('sign-in-failed', message);
    }
    failures.succeeded(address, username);
    const { token, session } = deps.sessions.create(result.user.id, address);
    const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
    // Lax: the cookie goes with a link followed from the block page, never with another site's form.
    reply.header('set-cookie', `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${deps.secureCookies ? '; Secure' : ''}`);
    deps.log.info({ username: result.user.username, address }, 'staff app: signed in');
    return done(req, reply, safeNext(req.body.next), { username: result.user.username, roles: result.user.roles, csrf: session.csrf });
  });

  app.post('/logout', { ...signedIn() }, async (req, reply) => {
    const token = cookie(req.headers.cookie, SESSION_COOKIE);
    if (token) deps.sessions.end(token);
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${deps.secureCookies ? '; Secure' : ''}`);
    return done(req, reply, '/login', { signedOut: true });
  });
}

const LOGIN_COOKIE = 'sg_login';

function needsFormToken(req: FastifyRequest): boolean {
  // Anything but JSON (which no other site's form can send) must carry the form's token.
  return !(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
}

/** Only a path on this app: never another site (an open redirect would help phishing). */
function safeNext(next: string | undefined): string {
  // A browser drops tabs and new lines from a Location, so "/\t/evil.example" would be "//evil.example".
  // Printable ASCII only: anything else cannot go in a Location header as it stands.
  return next !== undefined && /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(next) ? next : '/';
}

function loginForm(next: string, error: string | null, token: string) {
  return html`${error ? html`<p class="error" role="alert">${error}</p>` : null}
<form method="post" action="/login">
<input type="hidden" name="next" value="${next}"><input type="hidden" name="_login" value="${token}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="muted">Staff accounts only. Ask the IT technician if you cannot sign in.</p>`;
}
