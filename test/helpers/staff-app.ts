// The staff web app and the proxy wired as `schoolgate start` wires them (list service, live
// policy with unblocks, SQLite store), on loopback ports, for API and browser tests; with
// helpers to add staff and sign in over real HTTP.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildAdminApp } from '../../src/admin/app.js';
import { configApplier } from '../../src/admin/policy-edit.js';
import { authenticatorFor } from '../../src/identity/users-auth.js';
import { ListService } from '../../src/lists/service.js';
import { createLogger } from '../../src/log.js';
import { LiveSnapshot, SYSTEM_CLOCK, type Clock } from '../../src/proxy/live-snapshot.js';
import { createProxyServer, type Proxy } from '../../src/proxy/server.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { recordPolicyVersion } from '../../src/store/policy-versions.js';
import { SessionStore } from '../../src/store/sessions.js';
import { UnblockStore } from '../../src/store/unblocks.js';
import type { Role } from '../../src/store/user-rules.js';
import { UserStore } from '../../src/store/users.js';
import { writeTestConfig } from './proxy.js';

export interface StaffApp {
  /** http://127.0.0.1:PORT of the staff app. */
  readonly url: string;
  readonly proxyPort: number;
  readonly configFile: string;
  readonly service: ListService;
  readonly db: Database;
  readonly users: UserStore;
  readonly unblocks: UnblockStore;
  readonly live: LiveSnapshot;
  readonly mails: { to: string; subject: string; text: string }[];
  /** Adds a person with these roles (password "a long passphrase"); no roles makes a pupil of `group`. */
  addUser(username: string, roles: readonly Role[], group?: string): Promise<void>;
  /** Signs in over HTTP: the cookie header to send and the CSRF token forms carry. */
  signIn(username: string): Promise<Session>;
  close(): Promise<void>;
}

export interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

export const PASSWORD = 'a long passphrase';
/** The operating-system account the test's Schoolgate "runs as": the actor of what a reload finds. */
export const SERVER_ACCOUNT = 'schoolgate-daemon';

/** `extra` YAML is added to the shipped configuration (its top-level sections replace the shipped ones). */
export async function startStaffApp(dir: string, extra = '', opts: { now?: () => Date; port?: number } = {}): Promise<StaffApp> {
  const configFile = writeTestConfig(dir, extra);
  const dataDir = join(dir, 'data');
  const log = createLogger({ level: 'silent' });
  const service = await ListService.start({ configFile, dataDir, log });
  const db = openDatabase(dataDir);
  // As `schoolgate start` does: the configuration at start and each one a reload swaps in are
  // recorded, as the account the process runs as (who edited the file is unknown to it).
  recordPolicyVersion(db, { file: service.config.file, text: service.config.text, actor: SERVER_ACCOUNT });
  service.onReload((cfg) => recordPolicyVersion(db, { file: cfg.file, text: cfg.text, actor: SERVER_ACCOUNT }));
  const users = new UserStore(db, { groups: () => service.config.policy.groups, actor: 'test' });
  const unblocks = new UnblockStore(db, opts.now ? { now: opts.now } : {});
  const live = new LiveSnapshot(service, { unblocks, ...(opts.now ? { clock: clockOf(opts.now) } : {}) });
  service.onReload(() => live.refresh('reload'));
  const mails: StaffApp['mails'] = [];
  const app = buildAdminApp({
    db, users, sessions: new SessionStore(db), unblocks, source: live, log, unblocksChanged: () => live.refresh(),
    applyConfig: configApplier(service, db), mail: async (to, subject, text) => { mails.push({ to, subject, text }); },
    ...(opts.now ? { now: opts.now } : {}),
  });
  await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  // Proxy sign-in where a network asks for it: a pupil's browser signs in as its own group.
  const proxy: Proxy = createProxyServer({ source: live, log, auth: authenticatorFor(users), ...(opts.now ? { now: () => opts.now!().getTime() } : {}) });
  const proxyPort = await new Promise<number>((resolve) => proxy.server.listen(0, '127.0.0.1', () => resolve((proxy.server.address() as AddressInfo).port)));
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url, proxyPort, configFile, service, db, users, unblocks, live, mails,
    async addUser(username, roles, group = 'staff') {
      await users.add({ username, group, password: PASSWORD, roles, email: `${username}@school.example` });
    },
    async signIn(username) {
      const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
      if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}: ${await res.text()}`);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      return { cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
    },
    async close() {
      live.close();
      await app.close();
      proxy.destroyTunnels();
      (proxy.server as http.Server).closeAllConnections();
      await new Promise((r) => proxy.server.close(r));
      db.close();
    },
  };
}

/** A JSON API call as a signed-in person (or nobody): status and parsed body. */
export async function api(app: StaffApp, session: Session | null, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (session) {
    headers.cookie = session.cookie;
    if (method !== 'GET') headers['x-csrf-token'] = session.csrf;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${app.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HTML or CSV: the text itself.
  }
  return { status: res.status, body: parsed };
}

/** A test's clock as the snapshot takes it: its time, and a wait for a time on it (run on the real timer). */
function clockOf(now: () => Date): Clock {
  return { now: () => now().getTime(), at: (time, fn) => SYSTEM_CLOCK.at(Date.now() + (time - now().getTime()), fn) };
}
