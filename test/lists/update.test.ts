// updateSource/updateAll against a real HTTPS server with real archives: a bad update must be
// refused with the copy in use untouched; a good one swapped in whole.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListSourceConfig } from '../../src/config/types.js';
import { sourceLocation, sourceStore } from '../../src/lists/sources.js';
import { readSourceState } from '../../src/lists/source-state.js';
import { countEntriesWith, updateAll, updateSource, type UpdateDeps, type UpdateLimits } from '../../src/lists/update.js';
import {
  etagOf, makeCa, makeServerCert, names, rawArchive, redirect, serve, squidGuardArchive, startListServer,
  type ListServer,
} from '../helpers/list-server.js';

let root: string;
let server: ListServer;
let untrusted: ListServer;
let caPem: Buffer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sg-update-'));
  const ca = makeCa('Schoolgate test CA');
  caPem = Buffer.from(ca.certPem);
  server = await startListServer(makeServerCert(ca));
  untrusted = await startListServer(makeServerCert(makeCa('Some other CA')));
});

afterAll(async () => {
  await server?.close();
  await untrusted?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

let seq = 0;
/** A fresh data folder and a unique source name (and route) per test. */
function setup(overrides: Partial<ListSourceConfig> = {}): { source: ListSourceConfig; dataDir: string; path: string } {
  seq++;
  const dataDir = mkdtempSync(join(root, 'data-'));
  const path = `/src${seq}.tar.gz`;
  const source: ListSourceConfig = {
    name: `ut1-${seq}`, format: 'squidguard', url: server.url(path), role: 'category', sensitive: false,
    refresh: { everyMs: 24 * 3600_000, label: 'nightly' }, minKeepRatio: 0.5, ...overrides,
  };
  return { source, dataDir, path };
}

interface LogLine { level: 'info' | 'warn'; obj: object; msg: string }

function depsFor(source: ListSourceConfig, lines: LogLine[] = [], limits?: UpdateLimits): UpdateDeps {
  return {
    log: {
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    },
    countEntries: countEntriesWith(source, (n) => n),
    now: () => new Date(),
    ca: caPem,
    ...(limits === undefined ? {} : { limits }),
  };
}

/** Entries that load from the copy in use, counted the way the proxy loads them. */
function entriesInUse(source: ListSourceConfig, dataDir: string): number {
  return countEntriesWith(source, (n) => n)(sourceLocation(source, dataDir)).entries;
}

function currentTarget(source: ListSourceConfig, dataDir: string): string {
  return readlinkSync(join(sourceStore(dataDir, source.name), 'current'));
}

const twenty = (): Promise<Buffer> => squidGuardArchive({ adult: { domains: names(15, 'adult') }, gambling: { domains: [...names(4, 'bet'), 'example.com'] } });

describe('updateSource: a good download', () => {
  it('installs the first copy, points current at it, and records it', async () => {
    const { source, dataDir, path } = setup();
    const archive = await twenty();
    server.routes.set(path, serve(archive));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome).toMatchObject({ source: source.name, status: 'updated', entries: 20 });
    expect(outcome.previousEntries).toBeUndefined();
    expect(currentTarget(source, dataDir)).toBe(outcome.generation);
    expect(entriesInUse(source, dataDir)).toBe(20);
    const state = await readSourceState(dataDir, source.name);
    expect(state).toMatchObject({ etag: etagOf(archive), entries: 20, generation: outcome.generation, lastError: null });
    // Only the generation, the link and the state are left: no download or work folder.
    expect(readdirSync(sourceStore(dataDir, source.name)).sort()).toEqual([outcome.generation, 'current', 'state.json'].sort());
  });

  it('sends the ETag again and reports not-modified on 304, leaving current alone', async () => {
    const { source, dataDir, path } = setup();
    const archive = await twenty();
    server.routes.set(path, serve(archive));
    const first = await updateSource(source, dataDir, depsFor(source));
    const second = await updateSource(source, dataDir, depsFor(source));
    expect(second).toMatchObject({ status: 'not-modified', entries: 20 });
    const last = server.requests.filter((r) => r.path === path).at(-1);
    expect(last?.headers['if-none-match']).toBe(etagOf(archive));
    expect(currentTarget(source, dataDir)).toBe(first.generation);
  });

  it('follows a redirect to another https:// address', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, serve(await twenty()));
    server.routes.set(`${path}.moved`, redirect(path, 301));
    const outcome = await updateSource({ ...source, url: server.url(`${path}.moved`) }, dataDir, depsFor(source));
    expect(outcome).toMatchObject({ status: 'updated', entries: 20 });
  });

  it('a single-file IWF-style source is stored owner-only and its entries never reach logs or outcome', async () => {
    const { source, dataDir, path } = setup({ format: 'iwf', sensitive: true, category: 'iwf', role: 'block' });
    const secret = ['abuse-page.invalid/img/1.jpg', 'whole-site.invalid', 'other.invalid/a?b=1'];
    server.routes.set(path, serve(`${secret.join('\n')}\n`));
    const lines: LogLine[] = [];
    const outcome = await updateSource(source, dataDir, depsFor(source, lines));
    expect(outcome).toMatchObject({ status: 'updated', entries: 3 });
    const store = sourceStore(dataDir, source.name);
    expect(statSync(store).mode & 0o777).toBe(0o700);
    expect(statSync(join(store, outcome.generation!)).mode & 0o777).toBe(0o700);
    expect(statSync(sourceLocation(source, dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(join(store, 'state.json')).mode & 0o777).toBe(0o600);
    expect(entriesInUse(source, dataDir)).toBe(3);
    // A refused update of the same source says nothing about the entries either.
    server.routes.set(path, serve(`${secret[0]}\n`));
    const refused = await updateSource(source, dataDir, depsFor(source, lines));
    expect(refused.status).toBe('refused');
    const said = JSON.stringify([outcome, refused, lines]);
    for (const s of ['abuse-page', 'whole-site', 'other.invalid']) expect(said).not.toContain(s);
  });
});

describe('updateSource: details', () => {
  it('accepts a copy in which a new list has no category, and says so in warnings', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(5, 'a') }, newlist: { domains: names(5, 'n') } })));
    const deps = { ...depsFor(source), countEntries: countEntriesWith(source, (n) => (n === 'newlist' ? undefined : n)) };
    const outcome = await updateSource(source, dataDir, deps);
    expect(outcome).toMatchObject({ status: 'updated', entries: 5 });
    expect(outcome.warnings).toEqual([expect.stringMatching(/newlist: no category for list "newlist"/)]);
  });

  it('trusts the CA file named by the source itself', async () => {
    const { source, dataDir, path } = setup();
    const caFile = join(dataDir, 'list-server-ca.pem');
    writeFileSync(caFile, caPem);
    server.routes.set(path, serve(await twenty()));
    const { ca: _unused, ...withoutCa } = depsFor(source);
    expect((await updateSource(source, dataDir, withoutCa)).reason).toMatch(/certificate is not trusted/);
    expect(await updateSource({ ...source, ca: caFile }, dataDir, withoutCa)).toMatchObject({ status: 'updated', entries: 20 });
  });

  it('skips while another live update holds the lock, and takes over a dead one\'s', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, serve(await twenty()));
    const store = sourceStore(dataDir, source.name);
    mkdirSync(store, { recursive: true });
    writeFileSync(join(store, '.update.lock'), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
    const busy = await updateSource(source, dataDir, depsFor(source));
    expect(busy.status).toBe('skipped');
    expect(busy.reason).toMatch(/another update of .* is running/);
    writeFileSync(join(store, '.update.lock'), JSON.stringify({ pid: 2 ** 30, at: new Date().toISOString() }));
    expect(await updateSource(source, dataDir, depsFor(source))).toMatchObject({ status: 'updated' });
    expect(existsSync(join(store, '.update.lock'))).toBe(false);
  });

  it('a one-list source ("list" format) explains an archive with nothing at its top', async () => {
    const { source, dataDir, path } = setup({ format: 'list', category: 'adult' });
    server.routes.set(path, serve(rawArchive([{ path: 'wrapped/domains', body: 'a.test\n' }])));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.reason).toMatch(/nothing in the new copy loads \(no domains, urls or expressions file at the top of the archive\)/);
    server.routes.set(path, serve(rawArchive([{ path: 'domains', body: 'a.test\nb.test\n' }])));
    expect(await updateSource(source, dataDir, depsFor(source))).toMatchObject({ status: 'updated', entries: 2 });
  });
});

describe('updateSource: a bad download is refused and the copy in use stays', () => {
  async function installed(): Promise<{ source: ListSourceConfig; dataDir: string; path: string; generation: string; etag: string }> {
    const { source, dataDir, path } = setup();
    const archive = await twenty();
    server.routes.set(path, serve(archive));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.status).toBe('updated');
    return { source, dataDir, path, generation: outcome.generation!, etag: etagOf(archive) };
  }

  function expectUnchanged(source: ListSourceConfig, dataDir: string, generation: string): void {
    expect(currentTarget(source, dataDir)).toBe(generation);
    expect(entriesInUse(source, dataDir)).toBe(20);
    // Nothing of the refused attempt is left behind.
    expect(readdirSync(sourceStore(dataDir, source.name)).sort()).toEqual([generation, 'current', 'state.json'].sort());
  }

  it('a corrupt (truncated) archive', async () => {
    const { source, dataDir, path, generation, etag } = await installed();
    const good = await squidGuardArchive({ adult: { domains: names(30, 'x') } });
    server.routes.set(path, serve(good.subarray(0, Math.floor(good.length / 2))));
    const lines: LogLine[] = [];
    const outcome = await updateSource(source, dataDir, depsFor(source, lines));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/damaged or unsafe/);
    expect(outcome.entries).toBe(20);
    expectUnchanged(source, dataDir, generation);
    const warn = lines.find((l) => l.level === 'warn');
    expect(warn?.msg).toMatch(/refused; the list in use stays in use/);
    // state.json keeps the validators of the copy in use and says what went wrong.
    const state = await readSourceState(dataDir, source.name);
    expect(state.etag).toBe(etag);
    expect(state.lastError).toBe(outcome.reason);
    expect(state.generation).toBe(generation);
  });

  it('a page that is not an archive at all', async () => {
    const { source, dataDir, path, generation } = await installed();
    server.routes.set(path, serve('<html><body>Service temporarily unavailable</body></html>'.repeat(20)));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/damaged or unsafe/);
    expectUnchanged(source, dataDir, generation);
  });

  it('an archive in which no lists are found', async () => {
    const { source, dataDir, path, generation } = await installed();
    server.routes.set(path, serve(await squidGuardArchive({}, { 'blacklists/README': 'nothing here' })));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/nothing in the new copy loads: .*no squidGuard lists .* in the downloaded copy$/);
    expectUnchanged(source, dataDir, generation);
  });

  it('HTTP 500', async () => {
    const { source, dataDir, path, generation } = await installed();
    server.routes.set(path, (_req, res) => { res.writeHead(500).end('oops'); });
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome).toMatchObject({ status: 'refused' });
    expect(outcome.reason).toContain(`download of ${source.url} failed: the server answered 500`);
    expectUnchanged(source, dataDir, generation);
  });

  it('connection refused', async () => {
    const { source, dataDir, generation } = await installed();
    const gone = await startListServer(makeServerCert(makeCa('gone')));
    const url = gone.url('/list.tar.gz');
    await gone.close();
    const outcome = await updateSource({ ...source, url }, dataDir, depsFor(source));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/connection refused by 127\.0\.0\.1:\d+/);
    expectUnchanged(source, dataDir, generation);
  });

  it('a server certificate not signed by the trusted CA', async () => {
    const { source, dataDir, path, generation } = await installed();
    untrusted.routes.set(path, serve(await twenty()));
    const outcome = await updateSource({ ...source, url: untrusted.url(path) }, dataDir, depsFor(source));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/certificate is not trusted.*set "ca:" on the source/);
    expectUnchanged(source, dataDir, generation);
  });

  it('a redirect to http://', async () => {
    const { source, dataDir, path, generation } = await installed();
    server.routes.set(path, redirect(`http://127.0.0.1:${server.port}${path}`));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.status).toBe('refused');
    expect(outcome.reason).toMatch(/not an https:\/\/ address/);
    expectUnchanged(source, dataDir, generation);
  });

  it('a redirect loop', async () => {
    const { source, dataDir, path, generation } = await installed();
    server.routes.set(path, redirect(path));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome.reason).toMatch(/more than 3 redirects/);
    expectUnchanged(source, dataDir, generation);
  });

  it('an archive over the file-count or size limit', async () => {
    const { source, dataDir, path, generation } = await installed();
    // Different content from the copy in use, so the server does not answer 304.
    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(25, 'big') }, porn: { domains: names(5, 'p') } })));
    const tooMany = await updateSource(source, dataDir, depsFor(source, [], { maxFiles: 3 }));
    expect(tooMany.reason).toMatch(/more than 3 files and folders/);
    const tooBig = await updateSource(source, dataDir, depsFor(source, [], { maxExtractBytes: 100 }));
    expect(tooBig.reason).toMatch(/unpacks to more than/);
    const download = await updateSource(source, dataDir, depsFor(source, [], { maxDownloadBytes: 64 }));
    expect(download.reason).toMatch(/more than the 64 bytes limit/);
    expectUnchanged(source, dataDir, generation);
  });

  it('a first download that fails leaves nothing in use and says so', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, (_req, res) => { res.writeHead(503).end(); });
    const lines: LogLine[] = [];
    const outcome = await updateSource(source, dataDir, depsFor(source, lines));
    expect(outcome.status).toBe('refused');
    expect(lines.at(-1)?.msg).toMatch(/no copy of this list has been installed yet/);
    expect(existsSync(join(sourceStore(dataDir, source.name), 'current'))).toBe(false);
    expect((await readSourceState(dataDir, source.name)).lastError).toMatch(/503/);
  });
});

describe('updateSource: shrinking', () => {
  it('refuses a copy with fewer than minKeepRatio of the entries, accepts one at the limit, keeps one previous generation', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(20, 'a') } })));
    const first = await updateSource(source, dataDir, depsFor(source));
    expect(first.entries).toBe(20);

    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(9, 'a') } })));
    const shrunk = await updateSource(source, dataDir, depsFor(source));
    expect(shrunk).toMatchObject({ status: 'refused', previousEntries: 20 });
    expect(shrunk.reason).toMatch(/has 9 entries, fewer than 50% of the 20 in the copy in use/);
    expect(currentTarget(source, dataDir)).toBe(first.generation);

    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(10, 'a') } })));
    const half = await updateSource(source, dataDir, depsFor(source));
    expect(half).toMatchObject({ status: 'updated', entries: 10, previousEntries: 20 });
    expect(currentTarget(source, dataDir)).toBe(half.generation);
    expect(entriesInUse(source, dataDir)).toBe(10);
    const store = sourceStore(dataDir, source.name);
    expect(readdirSync(store).sort()).toEqual([first.generation, half.generation, 'current', 'state.json'].sort());
    expect((await readSourceState(dataDir, source.name)).previousGeneration).toBe(first.generation);

    // A third copy: the oldest generation goes, the one before stays for rollback.
    server.routes.set(path, serve(await squidGuardArchive({ adult: { domains: names(12, 'a') } })));
    const third = await updateSource(source, dataDir, depsFor(source));
    expect(third).toMatchObject({ status: 'updated', entries: 12, previousEntries: 10 });
    expect(readdirSync(store).sort()).toEqual([half.generation, third.generation, 'current', 'state.json'].sort());
  });
});

describe('updateSource: shrinking of one list', () => {
  it('refuses a copy in which one list vanishes or shrinks, though the total would pass', async () => {
    const { source, dataDir, path } = setup();
    const lists = { adult: { domains: names(3000, 'a') }, gambling: { domains: names(1000, 'g') }, malware: { domains: names(1000, 'm') } };
    server.routes.set(path, serve(await squidGuardArchive(lists)));
    const first = await updateSource(source, dataDir, depsFor(source));
    expect(first).toMatchObject({ status: 'updated', entries: 5000 });

    server.routes.set(path, serve(await squidGuardArchive({ adult: lists.adult, malware: { domains: names(400, 'm') } })));
    const refused = await updateSource(source, dataDir, depsFor(source));
    expect(refused.status).toBe('refused');
    expect(refused.reason).toMatch(/lists would shrink below 50% or vanish: gambling 1000 -> 0, malware 1000 -> 400/);
    expect(currentTarget(source, dataDir)).toBe(first.generation);

    // Small lists may change freely.
    server.routes.set(path, serve(await squidGuardArchive({ ...lists, chat: { domains: names(50, 'c') } })));
    const grown = await updateSource(source, dataDir, depsFor(source));
    server.routes.set(path, serve(await squidGuardArchive(lists)));
    expect(grown.status).toBe('updated');
    expect((await updateSource(source, dataDir, depsFor(source))).status).toBe('updated');
  });
});

describe('updateSource: unsafe archives', () => {
  const cases: { what: string; entries: Parameters<typeof rawArchive>[0]; reason: RegExp }[] = [
    {
      what: 'a ../ path',
      entries: [{ path: 'blacklists/adult/domains', body: 'a.test\n' }, { path: '../../../../evil', body: 'x' }],
      reason: /"\.\.\/\.\.\/\.\.\/\.\.\/evil" points outside/,
    },
    {
      what: 'an absolute path',
      entries: [{ path: 'blacklists/adult/domains', body: 'a.test\n' }, { path: '/tmp/schoolgate-test-absolute-evil', body: 'x' }],
      reason: /is an absolute path/,
    },
    {
      what: 'a symlink, then a file through it',
      entries: [{ path: 'blacklists/link', type: 'SymbolicLink', linkpath: '../../../..' }, { path: 'blacklists/link/evil', body: 'x' }],
      reason: /"blacklists\/link" is a symbolic link; only plain files and folders/,
    },
    {
      what: 'a symlinked list file',
      entries: [{ path: 'blacklists/adult/', type: 'Directory' }, { path: 'blacklists/adult/domains', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
      reason: /is a symbolic link/,
    },
    {
      what: 'a hard link',
      entries: [{ path: 'blacklists/adult/domains', type: 'Link', linkpath: '/etc/passwd' }],
      reason: /is a hard link/,
    },
    {
      what: 'a device-like entry (FIFO)',
      entries: [{ path: 'blacklists/adult/domains', type: 'FIFO' }],
      reason: /is a named pipe/,
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.what} and writes nothing outside the store`, async () => {
      const { source, dataDir, path } = setup();
      server.routes.set(path, serve(await twenty()));
      const first = await updateSource(source, dataDir, depsFor(source));
      server.routes.set(path, serve(rawArchive(c.entries)));
      const outcome = await updateSource(source, dataDir, depsFor(source));
      expect(outcome.status).toBe('refused');
      expect(outcome.reason).toMatch(c.reason);
      expect(currentTarget(source, dataDir)).toBe(first.generation);
      expect(entriesInUse(source, dataDir)).toBe(20);
      expect(existsSync(join(root, 'evil'))).toBe(false);
      expect(existsSync(join(dataDir, 'evil'))).toBe(false);
      expect(existsSync('/tmp/schoolgate-test-absolute-evil')).toBe(false);
      expect(readdirSync(sourceStore(dataDir, source.name)).sort()).toEqual([first.generation, 'current', 'state.json'].sort());
    });
  }

  it('accepts a well-formed archive written block by block (the raw builder itself is sound)', async () => {
    const { source, dataDir, path } = setup();
    server.routes.set(path, serve(rawArchive([
      { path: 'blacklists/', type: 'Directory' }, { path: 'blacklists/adult/', type: 'Directory' },
      { path: 'blacklists/adult/domains', body: 'a.test\nb.test\n' }, { path: './blacklists/adult/urls', body: 'c.test/page\n' },
    ])));
    const outcome = await updateSource(source, dataDir, depsFor(source));
    expect(outcome).toMatchObject({ status: 'updated', entries: 3 });
  });
});

describe('updateAll', () => {
  it('carries on after one source fails, and skips local sources', async () => {
    const bad = setup();
    const good = setup();
    const dataDir = bad.dataDir;
    server.routes.set(bad.path, (_req, res) => { res.writeHead(500).end(); });
    server.routes.set(good.path, serve(await twenty()));
    const local: ListSourceConfig = { ...good.source, name: 'school-allow', url: undefined, path: join(root, 'nowhere'), format: 'domains', category: 'allow' };
    const lines: LogLine[] = [];
    const outcomes = await updateAll([bad.source, good.source, local], dataDir, {
      ...depsFor(good.source, lines),
      countEntries: (source) => countEntriesWith(source, (n) => n),
    });
    expect(outcomes.map((o) => [o.source, o.status])).toEqual([
      [bad.source.name, 'refused'], [good.source.name, 'updated'], ['school-allow', 'skipped'],
    ]);
    expect(outcomes[1]?.entries).toBe(20);
    expect(entriesInUse(good.source, dataDir)).toBe(20);
  });
});
