// The README's Development section says what `npm test` needs installed, and the Debian packages
// it names are the ones CI installs (.ci/run), so a developer who follows it can run the suite.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const development = readme.slice(readme.indexOf('\n## Development'));
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');

describe('README, Development', () => {
  it('installs on Debian the same packages CI installs for the tests', () => {
    const ciPackages = [...ci.matchAll(/\|\| apt_install (\S+)/g)].map((m) => m[1]!).sort();
    expect(ciPackages.length).toBeGreaterThanOrEqual(4);
    const line = /apt-get install -y ([^\n]+)/.exec(development);
    expect(line, 'an apt-get install line in the Development section').not.toBeNull();
    expect(line![1]!.trim().split(/\s+/).sort()).toEqual(ciPackages);
  });

  it('names every program and data the tests use', () => {
    for (const needed of ['redis-server', '/usr/bin/chromium', 'curl', 'tesseract', '../shared/blocklists']) expect(development).toContain(needed);
  });
});
