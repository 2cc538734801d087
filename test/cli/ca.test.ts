// `schoolgate ca` end to end with the real command: init once, export as PEM and DER, show,
// rotate with a grace period, and clear refusals (exit 1 for a problem, 2 for a usage error).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-ca-cli-');
afterAll(tmp.cleanup);
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);
const FINGERPRINT = /^SHA-256: {2}((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/m;

describe('schoolgate ca', () => {
  it('init makes the CA once, says where and how to deploy it, and never prints a key', async () => {
    const data = freshData();
    const init = await schoolgate(['ca', 'init', '--data', data]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const dir = join(data, 'ca');
    expect(init.stdout).toContain(`made the school's root CA in ${dir}:`);
    expect(init.stdout).toMatch(/^subject: {2}CN=Schoolgate Root CA .+ \d{4}-\d{2}-\d{2}, O=.+$/m);
    expect(init.stdout).toContain('schoolgate ca export --der --out');
    const cert = new X509Certificate(readFileSync(join(dir, 'root.crt')));
    expect(FINGERPRINT.exec(init.stdout)![1]).toBe(cert.fingerprint256);
    expect(init.stdout).not.toContain('PRIVATE KEY');
    if (process.platform !== 'win32') expect(statSync(join(dir, 'root.key')).mode & 0o777).toBe(0o600);

    const again = await schoolgate(['ca', 'init', '--data', data]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^schoolgate ca init: a root CA exists already in .*"schoolgate ca rotate"/);
    expect(new X509Certificate(readFileSync(join(dir, 'root.crt'))).fingerprint256).toBe(cert.fingerprint256);

    // PEM to standard output by default, DER to a file or a pipe; the same certificate each way.
    const pem = await schoolgate(['ca', 'export', '--data', data]);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toBe(readFileSync(join(dir, 'root.crt'), 'utf8'));
    const out = join(tmp.dir, 'school-root.cer');
    const der = await schoolgate(['ca', 'export', '--der', '--out', out, '--data', data]);
    expect(der.code).toBe(0);
    expect(der.stdout).toContain(`wrote the root certificate to ${out} (DER); SHA-256 ${cert.fingerprint256}`);
    expect(readFileSync(out).equals(cert.raw)).toBe(true);
    const piped = execFileSync(process.execPath, [BIN, 'ca', 'export', '--der', '--data', data], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(piped.equals(cert.raw)).toBe(true);
    expect(new X509Certificate(piped).ca).toBe(true);

    const show = await schoolgate(['ca', 'show', '--data', data]);
    expect(show.code).toBe(0);
    expect(FINGERPRINT.exec(show.stdout)![1]).toBe(cert.fingerprint256);
    expect(show.stdout).toContain('rotation: none in progress');
  });

  it('rotate keeps the old root working for the grace period and show says until when', async () => {
    const data = freshData();
    expect((await schoolgate(['ca', 'init', '--data', data])).code).toBe(0);
    const oldFingerprint = new X509Certificate(readFileSync(join(data, 'ca', 'root.crt'))).fingerprint256;
    const rotate = await schoolgate(['ca', 'rotate', '--grace-days', '14', '--data', data]);
    expect(rotate.stderr).toBe('');
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(/^Until \d{4}-\d{2}-\d{2}T[\d:.]+Z devices that trust only the old root keep working/m);
    const newFingerprint = new X509Certificate(readFileSync(join(data, 'ca', 'root.crt'))).fingerprint256;
    expect(newFingerprint).not.toBe(oldFingerprint);
    const show = await schoolgate(['ca', 'show', '--data', data]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/rotation: in its grace period until \S+ \(14 days left\)/);
    expect(show.stdout.indexOf(newFingerprint)).toBeLessThan(show.stdout.indexOf(oldFingerprint));
  });

  it('refuses usage errors with exit 2, and a missing or exposed CA with exit 1', async () => {
    const data = freshData();
    const checks: [string[], number, RegExp][] = [
      [['ca'], 2, /Usage: schoolgate ca ACTION/],
      [['ca', 'renew'], 2, /unknown ca action "renew": use init, export, rotate, show/],
      [['ca', 'export', '--der', '--pem', '--data', data], 2, /give --der or --pem, not both/],
      [['ca', 'rotate', '--grace-days', 'ten', '--data', data], 2, /--grace-days: "ten" is not a whole number of days/],
      [['ca', 'rotate', '--grace-days', '-3', '--data', data], 2, /--grace-days/],
      [['ca', 'show', '--data', data], 1, /no root CA in .*"schoolgate ca init"/],
      [['ca', 'export', '--data', data], 1, /no root CA in/],
      [['ca', 'rotate', '--data', data], 1, /no root CA .* to rotate/],
    ];
    for (const [args, code, message] of checks) {
      const r = await schoolgate(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stdout + r.stderr, args.join(' ')).toMatch(message);
    }
    if (process.platform === 'win32') return;
    expect((await schoolgate(['ca', 'init', '--data', data])).code).toBe(0);
    chmodSync(join(data, 'ca', 'root.key'), 0o644);
    const exposed = await schoolgate(['ca', 'show', '--data', data]);
    expect(exposed.code).toBe(1);
    expect(exposed.stderr).toContain(`chmod 600 ${join(data, 'ca', 'root.key')}`);
    expect(exposed.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('has help for each action', async () => {
    const help = await schoolgate(['ca', 'rotate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: schoolgate ca rotate [--grace-days N]');
    const top = await schoolgate(['--help']);
    expect(top.stdout).toMatch(/^ {2}ca +the school's root CA for HTTPS inspection/m);
  });
});

describe('schoolgate start with the school CA', () => {
  it('decrypts to show the block page over HTTPS, and refuses to start with a CA key others can read', async () => {
    const data = freshData();
    expect((await schoolgate(['ca', 'init', '--data', data])).code).toBe(0);
    const config = writeTestConfig(tmp.dir, 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n');
    const p = spawnSchoolgate(['start', '--config', config, '--data', data, '--port', '0']);
    try {
      const on = JSON.parse(await p.waitFor(/HTTPS inspection on/)) as { root: string };
      expect(on.root).toBe(new X509Certificate(readFileSync(join(data, 'ca', 'root.crt'))).fingerprint256);
      const { port } = JSON.parse(await p.waitFor(/Schoolgate is running/)) as { port: number };
      // A blocked site needs no DNS: nothing is sent to it, the page comes from the proxy.
      const out = execFileSync('curl', ['-sS', '--max-time', '20', '--cacert', join(data, 'ca', 'root.crt'), '-x', `http://127.0.0.1:${port}`, '-H', 'Accept: text/html',
        '-w', '\n%{http_code}', 'https://gambling.selftest.invalid/odds'], { encoding: 'utf8' });
      expect(out).toContain('This page is blocked');
      expect(out).toContain('Category: gambling');
      expect(out.trim().split('\n').pop()).toBe('403');
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    chmodSync(join(data, 'ca', 'root.key'), 0o640);
    const refused = await schoolgate(['start', '--config', config, '--data', data, '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/chmod 600/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('schoolgate start with admin.https', () => {
  it('serves the staff app over HTTPS with a certificate from the school CA, and marks the session cookie Secure', async () => {
    const data = freshData();
    expect((await schoolgate(['ca', 'init', '--data', data])).code).toBe(0);
    const root = join(data, 'ca', 'root.crt');
    expect((await schoolgate(['users', 'add', 'it.tech', '--role', 'technician', '--password-stdin', '--data', data], { stdin: 'a long passphrase' })).code).toBe(0);
    const config = writeTestConfig(tmp.dir, 'school:\n  name: HTTPS Primary\n  timezone: Europe/London\n  staffAppUrl: https://staff.school.test:8443\nadmin:\n  https: true\n');
    const p = spawnSchoolgate(['start', '--config', config, '--data', data, '--port', '0', '--admin-port', '0']);
    try {
      const { port } = JSON.parse(await p.waitFor(/staff app listening/)) as { port: number };
      await p.waitFor(/Schoolgate is running/);
      const curl = (...args: string[]) => execFileSync('curl', ['-sS', '--max-time', '20', '--cacert', root, '--resolve', `staff.school.test:${port}:127.0.0.1`, '-D', '-', ...args], { encoding: 'utf8' });
      expect(curl(`https://staff.school.test:${port}/login`)).toMatch(/^HTTP\/1\.1 200/);
      const signedIn = curl('-H', 'accept: application/json', '-H', 'content-type: application/json', '--data', JSON.stringify({ username: 'it.tech', password: 'a long passphrase' }), `https://staff.school.test:${port}/login`);
      expect(signedIn).toMatch(/set-cookie: sg_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure/i);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
