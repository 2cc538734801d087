// Shared by the staff app's API tests: a movable clock, HTML and form requests with a session,
// sign-in from a chosen loopback address, and a pupil's request through the proxy.
import http from 'node:http';
import type { StaffApp, Session } from '../helpers/staff-app.js';
import { viaProxy, type ProxiedAnswer } from '../helpers/proxy.js';

/** Pupils' machines (127.0.0.0/8) are KS2; *.selftest.invalid reaches a local origin. */
export const PROXY_YAML = 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    "*.selftest.invalid": 127.0.0.1\n';

/** A clock the app, the stores and the proxy all read; tests move it. Starts on Wednesday 11 March 2026, 10:00 GMT (not golden time). */
export function movableClock(start = new Date('2026-03-11T10:00:00Z')) {
  let t = start.getTime();
  return {
    now: (): Date => new Date(t),
    set(d: Date): void { t = d.getTime(); },
    advance(ms: number): void { t += ms; },
  };
}

export interface PageAnswer {
  readonly status: number;
  readonly body: string;
  readonly location: string | null;
  readonly type: string | null;
}

/** A browser's GET: Accept text/html, the session's cookie, redirects not followed. */
export async function getPage(app: StaffApp, session: Session | null, path: string): Promise<PageAnswer> {
  const res = await fetch(`${app.url}${path}`, { headers: { accept: 'text/html,application/xhtml+xml', ...(session ? { cookie: session.cookie } : {}) }, redirect: 'manual' });
  return { status: res.status, body: await res.text(), location: res.headers.get('location'), type: res.headers.get('content-type') };
}

/** A browser's form post (application/x-www-form-urlencoded); the CSRF field is whatever the caller puts in `fields`. */
export async function postForm(app: StaffApp, session: Session | null, path: string, fields: Record<string, string>): Promise<PageAnswer> {
  const res = await fetch(`${app.url}${path}`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(),
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...(session ? { cookie: session.cookie } : {}) },
  });
  return { status: res.status, body: await res.text(), location: res.headers.get('location'), type: res.headers.get('content-type') };
}

/** POST /login as JSON from `localAddress` (any 127.x address): sign-in failures are counted per address. */
export function signInFrom(app: StaffApp, localAddress: string, username: string, password: string): Promise<{ status: number; body: any; setCookie: string | undefined }> {
  const { hostname, port } = new URL(app.url);
  const payload = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: '/login', method: 'POST', localAddress, agent: false, headers: { accept: 'application/json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        let body: unknown = text;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        const c = res.headers['set-cookie'];
        resolve({ status: res.statusCode ?? 0, body, setCookie: c?.[0] });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A KS2 pupil's request through the proxy (from 127.0.0.9 unless told). */
export function pupilGets(app: StaffApp, originPort: number, host: string, path = '/', from = '127.0.0.9'): Promise<ProxiedAnswer> {
  return viaProxy(app.proxyPort, `http://${host}:${originPort}${path}`, { localAddress: from });
}

/** Rows in the audit chain: a refused change must add none. */
export function auditRows(app: StaffApp): number {
  return app.db.prepare('SELECT count(*) FROM audit').pluck().get() as number;
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}
