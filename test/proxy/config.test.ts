// The proxy section's errors name the file, the line, the key and the fix.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;
const POLICY = 'policy:\n  groups:\n    ks2: {}\n    staff: {}\n';

function load(proxy: string) {
  const file = join(tmp.dir, `c${n++}.yaml`);
  writeFileSync(file, `categories: ${CONFIG_DIR}/categories.yaml\n${POLICY}proxy:\n${proxy}`);
  return { file, load: () => loadConfig(file) };
}

describe('proxy configuration', () => {
  it('fills in safe defaults', () => {
    const p = load('  port: 3128\n').load().proxy;
    expect(p.connectPorts).toEqual(new Set([443]));
    expect(p.defaultAuth).toBe('off');
    expect(p.xForwardedFor).toBe(false);
    expect(p.limits).toEqual({ headerTimeoutMs: 30_000, idleTimeoutMs: 60_000, tunnelIdleTimeoutMs: 600_000, maxHeaderBytes: 16_384, connectionsPerClient: 256 });
    expect(p.blockIpTunnels).toEqual(new Set(['ks2']));
  });

  it('maps networks to groups, most specific first', () => {
    const p = load('  networks:\n    - { cidr: 10.0.0.0/8, group: ks2 }\n    - { cidr: 10.2.0.0/16, group: staff, auth: required }\n').load().proxy;
    expect(p.networks.lookup('10.2.3.4')).toEqual({ group: 'staff', auth: 'required' });
    expect(p.networks.lookup('::ffff:10.9.9.9')).toEqual({ group: 'ks2', auth: 'off' });
    expect(p.networks.lookup('192.0.2.1')).toBeUndefined();
  });

  it.each([
    ['a bad CIDR', '  networks:\n    - { cidr: 10.1.1.7/24, group: ks2 }\n', /:8: proxy\.networks\[0\]\.cidr: .*10\.1\.1\.7\/24/],
    ['an unknown group', '  networks:\n    - { cidr: 10.1.1.0/24, group: ks9 }\n', /:8: proxy\.networks\[0\]\.group: unknown group "ks9" \(fix: use one of: ks2, staff\)/],
    ['a bad auth mode', '  networks:\n    - { cidr: 10.1.1.0/24, group: ks2, auth: maybe }\n', /proxy\.networks\[0\]\.auth: "maybe" is not allowed \(fix: use one of: required, optional, off\)/],
    ['a bad port', '  connectPorts: [443, 70000]\n', /proxy\.connectPorts\[1\]: must be at most 65535/],
    ['a bad limit', '  limits:\n    headerTimeoutSeconds: 0\n', /proxy\.limits\.headerTimeoutSeconds: must be at least 1/],
    ['an unknown limit', '  limits:\n    timeout: 5\n', /proxy\.limits\.timeout: unknown key "timeout"/],
    ['a PAC entry that could inject code', '  pacDirect: [\'evil"); alert(1); ("\']\n', /proxy\.pacDirect\[0\]: /],
    ['a bad allowed range', '  allowPrivate: [localhost]\n', /proxy\.allowPrivate\[0\]: /],
  ])('%s', (_label, proxy, pattern) => {
    const c = load(proxy);
    const problems = problemsOf(c.load).map((p) => `${p.file}:${p.line}: ${p.key}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`);
    expect(problems.join('\n')).toMatch(pattern);
  });
});
