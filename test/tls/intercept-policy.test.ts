// Which tunnels are decrypted: the `tls:` section (parsed with file and line for every mistake),
// the pure choice the proxy and `explain` share, and the pinned-app memory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { loadConfig } from '../../src/config/load.js';
import { chooseInterception, type TunnelFacts } from '../../src/tls/intercept.js';
import { PinningMemory } from '../../src/tls/pinning.js';
import { problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const never = join(tmp.dir, 'never.yaml');
writeFileSync(never, 'categories: [finance]\nsites:\n  - bank.example.test\n  - intranet.example.test/payroll\n');

const config = loadConfig(writeTestConfig(tmp.dir, `tls:
  intercept:
    ks1: all
    ks2:
      categories: [social-networking]
      sites: [site.example.test]
    staff:
      categories: [games]
      searchEngines: false
      blockPages: false
  neverIntercept: ${never}
`));

const facts = (group: string, url: string, more: Partial<TunnelFacts> = {}): TunnelFacts => ({
  group, url: normaliseUrl(url), categories: [], searchEngine: null, refused: false, ...more,
});

describe('chooseInterception', () => {
  const cases: [string, TunnelFacts, boolean, RegExp][] = [
    ['a group decrypted everywhere', facts('ks1', 'https://any.example.test/'), true, /every site/],
    ['…except the never list, by site', facts('ks1', 'https://www.bank.example.test/'), false, /never inspected \(site bank\.example\.test\)/],
    ['…and by category', facts('ks1', 'https://money.example.test/', { categories: ['finance'] }), false, /never inspected \(finance\)/],
    ['a listed category', facts('ks2', 'https://friends.example.test/', { categories: ['social-networking'] }), true, /category social-networking/],
    ['a listed site', facts('ks2', 'https://site.example.test/'), true, /site site\.example\.test/],
    ['a search engine, by default', facts('ks2', 'https://www.google.com/', { searchEngine: 'google' }), true, /search engine google/],
    ['a search engine, turned off', facts('staff', 'https://www.google.com/', { searchEngine: 'google' }), false, /not in the staff group/],
    ['anything else', facts('ks2', 'https://other.example.test/'), false, /not in the ks2 group/],
    ['a group not named', facts('guest', 'https://site.example.test/', { refused: true }), false, /guest group is not inspected/],
    ['a refused host, for its block page', facts('ks2', 'https://other.example.test/', { refused: true }), true, /block page/],
    ['a refused host on the never list still shows its page', facts('ks2', 'https://bank.example.test/', { refused: true }), true, /block page/],
    ['a refused host where block pages are off', facts('staff', 'https://other.example.test/', { refused: true }), false, /blockPages: false/],
  ];
  it.each(cases)('%s', (_name, t, intercept, reason) => {
    const choice = chooseInterception(t, config.tls);
    expect(choice.intercept).toBe(intercept);
    expect(choice.reason).toMatch(reason);
  });

  it('a URL entry on the never list covers its path only (the tunnel is for the host)', () => {
    expect(chooseInterception(facts('ks1', 'https://intranet.example.test/'), config.tls).intercept).toBe(true);
  });
});

describe('the tls: section', () => {
  it('has inert defaults without the section, and the shipped file decrypts pupils and staff but not guests', () => {
    const shipped = loadConfig(writeTestConfig(tmp.dir, ''));
    expect([...shipped.tls.intercept.keys()].sort()).toEqual(['ks1', 'ks2', 'staff']);
    expect(shipped.tls.never.sites.size).toBeGreaterThan(10);
    expect(shipped.tls.pinning).toEqual({ devices: 3, windowMs: 600_000, bypassMs: 3_600_000, groups: new Set(['staff']) });
  });

  it('reports every mistake with its file and line', () => {
    const badNever = join(tmp.dir, 'bad-never.yaml');
    writeFileSync(badNever, 'categories: [no-such-category]\nsites:\n  - "not a host"\nextra: 1\n');
    const file = writeTestConfig(tmp.dir, `tls:
  intercept:
    nobody: all
    ks2: { categories: [gamez], blockPages: maybe }
  neverIntercept: ${badNever}
  upstreamCAs: [${join(tmp.dir, 'missing.pem')}]
  certificateDays: 500
  pinning: { devices: 0 }
  bogus: true
`);
    const problems = problemsOf(() => loadConfig(file)).map((p) => `${p.file === badNever ? 'never' : 'main'}:${p.key}: ${p.message}`);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^main:tls\.bogus: unknown key/),
      expect.stringMatching(/^main:tls\.intercept\.nobody: unknown group "nobody"/),
      expect.stringMatching(/^main:tls\.intercept\.ks2\.categories\[0\]: unknown category "gamez"/),
      expect.stringMatching(/^main:tls\.intercept\.ks2\.blockPages: /),
      expect.stringMatching(/^main:tls\.upstreamCAs\[0\]: cannot read .*ENOENT/),
      expect.stringMatching(/^main:tls\.certificateDays: must be at most 90/),
      expect.stringMatching(/^main:tls\.pinning\.devices: must be at least 1/),
      expect.stringMatching(/^never:extra: unknown key/),
      expect.stringMatching(/^never:categories\[0\]: unknown category "no-such-category"/),
      expect.stringMatching(/^never:sites\[0\]: "not a host" is not a valid site/),
    ]));
    expect(problems).toHaveLength(10);
  });
});

describe('PinningMemory', () => {
  const settings = { devices: 3, windowMs: 60_000, bypassMs: 600_000 };

  it('bypasses a host after failures on three different devices within the window, for bypassMs', () => {
    const m = new PinningMemory(() => settings);
    expect(m.failed('app.example.test', '10.0.0.1', 0)).toBe(false);
    // The same device again does not count twice: one device without the CA is not a pinned app.
    expect(m.failed('app.example.test', '10.0.0.1', 1_000)).toBe(false);
    expect(m.failed('app.example.test', '10.0.0.2', 2_000)).toBe(false);
    expect(m.isBypassed('app.example.test', 2_000)).toBe(false);
    expect(m.failed('app.example.test', '10.0.0.3', 3_000)).toBe(true);
    expect(m.isBypassed('app.example.test', 3_000)).toBe(true);
    expect(m.isBypassed('other.example.test', 3_000)).toBe(false);
    expect(m.isBypassed('app.example.test', 3_000 + 600_000)).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const m = new PinningMemory(() => settings);
    m.failed('app.example.test', '10.0.0.1', 0);
    m.failed('app.example.test', '10.0.0.2', 1_000);
    expect(m.failed('app.example.test', '10.0.0.3', 70_000)).toBe(false);
    expect(m.isBypassed('app.example.test', 70_000)).toBe(false);
  });
});
