// `schoolgate lists update` end to end: a real HTTPS server with a CA made for the test, a
// UT1-style archive, the real command, and a running Schoolgate told to reload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { makeCa, makeServerCert, names, serve, squidGuardArchive, startListServer, type ListServer } from '../helpers/list-server.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir();
let server: ListServer;
const config = join(tmp.dir, 'schoolgate.yaml');
const data = join(tmp.dir, 'data');

beforeAll(async () => {
  const ca = makeCa('Schoolgate test CA');
  server = await startListServer(makeServerCert(ca));
  writeFileSync(join(tmp.dir, 'ca.pem'), ca.certPem);
  writeFileSync(config, [
    `categories: ${ROOT}/config/categories.yaml`,
    'lists:',
    '  sources:',
    `    - {name: ut1, format: squidguard, url: "${server.url('/blacklists.tar.gz')}", ca: ca.pem, refresh: nightly}`,
  ].join('\n'));
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

describe('lists update', () => {
  it('installs a good download, refuses a shrunken one, and a running Schoolgate reloads', async () => {
    server.routes.set('/blacklists.tar.gz', serve(await squidGuardArchive({ gambling: { domains: names(40, 'bet') }, agressif: { domains: names(10, 'fight') } })));
    const before = await schoolgate(['classify', 'https://site3.bet.test/', '--json', '--config', config, '--data', data]);
    expect(JSON.parse(before.stdout).categories).toEqual([]);
    expect(before.stderr).toContain('ut1: not downloaded yet');

    const running = spawnSchoolgate(['start', '--config', config, '--data', data]);
    await running.waitFor(/Schoolgate is running/);

    const first = await schoolgate(['lists', 'update', '--config', config, '--data', data]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('ut1: updated (50 entries)');
    expect(first.stdout).toMatch(/asked Schoolgate \(pid \d+\) to reload/);
    expect(JSON.parse(await running.waitFor(/"msg":"lists reloaded"/))).toMatchObject({ entries: expect.any(Number) });

    const after = await schoolgate(['classify', 'https://www.site3.bet.test/', '--json', '--config', config, '--data', data]);
    expect(JSON.parse(after.stdout).categories).toEqual(['gambling']);
    const fight = await schoolgate(['classify', 'site1.fight.test', '--json', '--config', config, '--data', data]);
    expect(JSON.parse(fight.stdout).categories).toEqual(['violence']);

    // The server now offers a list less than half the size: refused, the old copy stays.
    server.routes.set('/blacklists.tar.gz', serve(await squidGuardArchive({ gambling: { domains: names(12, 'bet') } })));
    const shrunk = await schoolgate(['lists', 'update', '--config', config, '--data', data]);
    expect(shrunk.code).toBe(1);
    expect(shrunk.stdout).toMatch(/ut1: refused.*12 entries.*50/);
    const still = await schoolgate(['classify', 'https://site30.bet.test/', '--json', '--config', config, '--data', data]);
    expect(JSON.parse(still.stdout).categories).toEqual(['gambling']);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });

  it('refuses a download that is not an archive, and says why', async () => {
    server.routes.set('/blacklists.tar.gz', serve('this is not a tarball'));
    const r = await schoolgate(['lists', 'update', '--source', 'ut1', '--config', config, '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ut1: refused/);
    const status = await schoolgate(['lists', '--json', '--config', config, '--data', data]);
    const ut1 = JSON.parse(status.stdout).lists.find((l: { name: string }) => l.name === 'ut1/gambling');
    expect(ut1.entries).toBe(40);
  });

  it('rejects an unknown --source', async () => {
    const r = await schoolgate(['lists', 'update', '--source', 'nope', '--config', config, '--data', data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no downloaded source named "nope"');
  });
});
