// Signing in and out of the staff app. Passwords are the same scrypt hashes as proxy sign-in;
// only people with a staff role may sign in here. Failures from one address are slowed, then
// refused for a while (the same limiter as the proxy's).
import type { FailureLimiter } from '../identity/failures.js';
import { SESSION_COOKIE, done, sendPage, wantsHtml, type AdminApp, type AdminDeps } from './app.js';
import { AdminError } from './errors.js';
import { html } from './html.js';

const LOGIN_BODY = {
  type: 'object',
  required: ['username', 'password'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 }, next: { type: 'string', maxLength: 2048 } },
} as const;

export function registerAuthRoutes({ app, signedIn }: AdminApp, deps: AdminDeps, failures: FailureLimiter): void {
  app.get<{ Querystring: { next?: string } }>('/login', {
    schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 2048 } } } },
  }, async (req, reply) => {
    if (req.signed) return reply.redirect(safeNext(req.query.next), 303);
    return sendPage(reply, deps, null, 'Sign in', loginForm(req.query.next ?? '/', null));
  });

  app.post<{ Body: { username: string; password: string; next?: string } }>('/login', { schema: { body: LOGIN_BODY } }, async (req, reply) => {
    const address = req.socket.remoteAddress ?? '';
    const locked = failures.lockedFor(address);
    if (locked > 0) throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(locked / 60)} minutes.`);
    const counted = failures.attempt(address);
    if (counted.kind === 'locked') throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(counted.retryAfterS / 60)} minutes.`);
    const result = await deps.users.verify(req.body.username, req.body.password);
    if (!result.ok || result.user.roles.length === 0) {
      const verdict = failures.failed(address);
      if (verdict.kind === 'retry' && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
      deps.log.warn({ username: req.body.username.slice(0, 64), address, reason: result.ok ? 'no staff role' : result.reason }, 'staff app: sign-in failed');
      // One message for every failure: it must not tell a guesser which usernames exist.
      const message = 'That username and password did not match a staff account.';
      if (verdict.kind === 'locked') throw new AdminError('locked', `Too many failed sign-ins from this device. Try again in ${Math.ceil(verdict.retryAfterS / 60)} minutes.`);
      if (wantsHtml(req)) return sendPage(reply, deps, null, 'Sign in', loginForm(req.body.next ?? '/', message), 401);
      throw new AdminError('sign-in-failed', message);
    }
    failures.succeeded(address);
    const { token, session } = deps.sessions.create(result.user.id, address);
    const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
    // Lax: the cookie goes with a link followed from the block page, never with another site's form.
    reply.header('set-cookie', `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${deps.secureCookies ? '; Secure' : ''}`);
    deps.log.info({ username: result.user.username, address }, 'staff app: signed in');
    return done(req, reply, safeNext(req.body.next), { username: result.user.username, roles: result.user.roles, csrf: session.csrf });
  });

  app.post('/logout', { ...signedIn() }, async (req, reply) => {
    const token = req.headers.cookie?.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1);
    if (token) deps.sessions.end(token);
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${deps.secureCookies ? '; Secure' : ''}`);
    return done(req, reply, '/login', { signedOut: true });
  });
}

/** Only a path on this app: never another site (an open redirect would help phishing). */
function safeNext(next: string | undefined): string {
  // A browser drops tabs and new lines from a Location, so "/\t/evil.example" would be "//evil.example".
  return next !== undefined && /^\/(?![/\\])[^\x00-\x20\x7f\\]*$/.test(next) ? next : '/';
}

function loginForm(next: string, error: string | null) {
  return html`${error ? html`<p class="error" role="alert">${error}</p>` : null}
<form method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="muted">Staff accounts only. Ask the IT technician if you cannot sign in.</p>`;
}
