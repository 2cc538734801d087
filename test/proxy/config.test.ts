// The proxy section's errors name the file, the line, the key and the fix.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
    expect(p.limits).toEqual({ headerTimeoutMs: 30_000, idleTimeoutMs: 60_000, tunnelIdleTimeoutMs: 600_000, maxHeaderBytes: 16_384, connectionsPerClient: 256, upstreamTimeoutMs: 30_000,
      bodyIdleMs: 30_000, bodyMinBytesPerSecond: 64, upstreamPerClient: 16,
    });
    expect(p.pageHost).toBe('schoolgate.invalid');
    expect(p.resolve.size).toBe(0);
    expect(p.blockIpTunnels).toEqual(new Set(['ks2']));
  });

  it('runs one proxy process per core unless proxy.workers says (the tests set the default to 1)', () => {
    expect(load('  port: 3128\n').load().proxy.workers).toBe(1);
    expect(load('  workers: 3\n').load().proxy.workers).toBe(3);
    const set = process.env.SCHOOLGATE_DEFAULT_WORKERS;
    delete process.env.SCHOOLGATE_DEFAULT_WORKERS;
    try {
      expect(load('  port: 3128\n').load().proxy.workers).toBe(availableParallelism());
    } finally {
      process.env.SCHOOLGATE_DEFAULT_WORKERS = set;
    }
  });

  it('maps networks to groups, most specific first', () => {
    const p = load('  networks:\n    - { cidr: 10.0.0.0/8, group: ks2 }\n    - { cidr: 10.2.0.0/16, group: staff, auth: required }\n').load().proxy;
    expect(p.networks.lookup('10.2.3.4')).toEqual({ group: 'staff', auth: 'required' });
    expect(p.networks.lookup('::ffff:10.9.9.9')).toEqual({ group: 'ks2', auth: 'off' });
    expect(p.networks.lookup('192.0.2.1')).toBeUndefined();
  });

  it('sends configured names to fixed addresses: exact names, the longest *.suffix, then *', () => {
    const r = load('  resolve:\n    intranet.school.test: 10.0.0.5\n    "*.school.test": 10.0.0.6\n    "*.dept.school.test": "fd00::7"\n').load().proxy.resolve;
    expect(r.lookup('INTRANET.school.test.')).toBe('10.0.0.5');
    expect(r.lookup('www.school.test')).toBe('10.0.0.6');
    expect(r.lookup('a.dept.school.test')).toBe('fd00::7');
    expect(r.lookup('school.test')).toBeUndefined();
    expect(r.lookup('example.test')).toBeUndefined();
    expect(load('  resolve:\n    "*": 127.0.0.1\n').load().proxy.resolve.lookup('anything.example')).toBe('127.0.0.1');
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
    ['an address where a name belongs in resolve', '  resolve:\n    10.0.0.1: 10.0.0.2\n', /:8: proxy\.resolve\.10\.0\.0\.1: "10\.0\.0\.1" is an address, not a name/],
    ['a name where an address belongs in resolve', '  resolve:\n    intranet.school.test: intranet\n', /proxy\.resolve\.intranet\.school\.test: "intranet" is not an IP address \(fix: an IPv4 or IPv6 address/],
    ['a pattern that is not a name', '  resolve:\n    "*.bad name": 10.0.0.2\n', /"\*\.bad name" is not a host name/],
    ['a page host that is not a name', '  pageHost: "not a host"\n', /proxy\.pageHost: /],
    ['no proxy workers', '  workers: 0\n', /proxy\.workers: must be a whole number of proxy processes from 1 to 64, found 0 \(fix: 1 for a single process, or leave it out for one per core/],
    ['proxy workers as text', '  workers: all\n', /proxy\.workers: must be a whole number of proxy processes from 1 to 64, found "all"/],
  ])('%s', (_label, proxy, pattern) => {
    const c = load(proxy);
    const problems = problemsOf(c.load).map((p) => `${p.file}:${p.line}: ${p.key}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`);
    expect(problems.join('\n')).toMatch(pattern);
  });
});
