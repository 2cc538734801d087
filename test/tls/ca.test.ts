// The school's root CA on disk: what init makes, that it is owner-only and refused otherwise,
// damaged files named, and what a rotation keeps and when it lets go of the old root.
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CA_FILES, CaError, caFolder, commonName, initCa, loadCa, rootCommonName, rotateCa } from '../../src/tls/ca.js';
import { tempDir } from '../helpers/lists.js';
import { run } from './handshake.js';

const tmp = tempDir('schoolgate-ca-');
afterAll(tmp.cleanup);
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);
const DAY = 86_400_000;
const SCHOOL = 'St Mary\'s & All Saints C of E Primary';
const onPosix = process.platform !== 'win32';

const mode = (file: string): number => statSync(file).mode & 0o777;

describe('initCa', () => {
  it('makes an owner-only folder with the root, its key and a separate P-256 leaf key', async () => {
    const data = freshData();
    const now = new Date('2026-11-22T10:00:00Z');
    const ca = initCa(data, { schoolName: SCHOOL, now });
    const dir = caFolder(data);
    expect(ca.dir).toBe(dir);
    if (onPosix) {
      expect(mode(dir)).toBe(0o700);
      for (const f of [CA_FILES.rootKey, CA_FILES.rootCert, CA_FILES.leafKey]) expect(mode(join(dir, f)), f).toBe(0o600);
    }
    const cert = new X509Certificate(readFileSync(join(dir, CA_FILES.rootCert)));
    expect(cert.raw.equals(ca.certDer)).toBe(true);
    expect(cert.ca).toBe(true);
    // The common name holds at most 64 characters: the school's name is cut to fit; O has it whole.
    expect(cert.subject).toBe(`CN=Schoolgate Root CA St Mary's & All Saints C of E 2026-11-22\nO=${SCHOOL}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 3_600_000);
    expect(new Date(cert.validTo).toISOString()).toBe('2036-11-22T10:00:00.000Z');
    expect(ca.notAfter.toISOString()).toBe('2036-11-22T10:00:00.000Z');
    expect(ca.key.asymmetricKeyType).toBe('rsa');
    expect(ca.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(ca.leafKey.asymmetricKeyType).toBe('ec');
    expect(ca.leafKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.chainPem).toEqual([]);
    expect(ca.previous).toBeNull();
    // The serial is 16 random bytes, positive.
    expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);

    const text = await run('openssl', ['x509', '-noout', '-text', '-in', join(dir, CA_FILES.rootCert)]);
    expect(text.stdout).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text.stdout).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const ski = /X509v3 Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text.stdout)![1]!;
    expect(ski.replaceAll(':', '').toLowerCase()).toBe(ca.keyId.toString('hex'));
    expect(text.stdout).toContain('Public-Key: (2048 bit)');
  });

  it('refuses to replace a CA that exists, and leaves it as it was', () => {
    const data = freshData();
    const first = initCa(data, { schoolName: SCHOOL });
    expect(() => initCa(data, { schoolName: SCHOOL })).toThrow(/exists already.*ca rotate/);
    expect(loadCa(data)!.certPem).toBe(first.certPem);
  });
});

describe('loadCa', () => {
  it('is null without a CA, and reads back what init made', () => {
    const data = freshData();
    expect(loadCa(data)).toBeNull();
    const made = initCa(data, { schoolName: SCHOOL });
    const loaded = loadCa(data)!;
    expect(loaded.certPem).toBe(made.certPem);
    expect(loaded.keyId.equals(made.keyId)).toBe(true);
    expect(loaded.leafPublicDer.equals(made.leafPublicDer)).toBe(true);
    expect(loaded.subjectDer.equals(made.subjectDer)).toBe(true);
  });

  it.skipIf(!onPosix)('refuses a private key other users can read, saying to chmod 600', () => {
    const data = freshData();
    initCa(data, { schoolName: SCHOOL });
    for (const file of [CA_FILES.rootKey, CA_FILES.leafKey]) {
      const path = join(caFolder(data), file);
      chmodSync(path, 0o640);
      expect(() => loadCa(data)).toThrow(CaError);
      expect(() => loadCa(data)).toThrow(`${path} can be read by other users (mode 640)`);
      expect(() => loadCa(data)).toThrow(`chmod 600 ${path}`);
      chmodSync(path, 0o604);
      expect(() => loadCa(data)).toThrow(/mode 604/);
      chmodSync(path, 0o600);
      expect(loadCa(data)).not.toBeNull();
    }
  });

  it('names a damaged, missing or mismatched file', () => {
    const data = freshData();
    initCa(data, { schoolName: SCHOOL });
    const dir = caFolder(data);
    const cert = join(dir, CA_FILES.rootCert);
    const good = readFileSync(cert);
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    expect(() => loadCa(data)).toThrow(`${cert} is not a certificate`);
    writeFileSync(cert, good);

    const other = freshData();
    initCa(other, { schoolName: SCHOOL });
    const key = join(dir, CA_FILES.rootKey);
    const ownKey = readFileSync(key);
    copyFileSync(join(caFolder(other), CA_FILES.rootKey), key);
    expect(() => loadCa(data)).toThrow(`${key} does not belong to ${cert}`);
    writeFileSync(key, ownKey);

    rmSync(join(dir, CA_FILES.leafKey));
    expect(() => loadCa(data)).toThrow(`${join(dir, CA_FILES.leafKey)} could not be read (ENOENT)`);
    // A root key where the leaf key belongs is refused: it is not P-256.
    copyFileSync(key, join(dir, CA_FILES.leafKey));
    expect(() => loadCa(data)).toThrow(/leaf\.key is not an ECDSA P-256 key/);
  });
});

describe('rotateCa', () => {
  it('needs a CA to rotate', () => {
    expect(() => rotateCa(freshData(), { schoolName: SCHOOL, graceDays: 30 })).toThrow(/no root CA .* "schoolgate ca init" first/);
  });

  it('makes a new root and leaf key, keeps the old root and a cross-certificate until the grace period ends', () => {
    const data = freshData();
    const t0 = new Date('2026-11-22T10:00:00Z');
    const old = initCa(data, { schoolName: SCHOOL, now: t0 });
    const rotated = rotateCa(data, { schoolName: SCHOOL, graceDays: 30, now: new Date(t0.getTime() + 1000) });
    const graceUntil = new Date(t0.getTime() + 1000 + 30 * DAY);

    expect(rotated.certPem).not.toBe(old.certPem);
    expect(rotated.keyId.equals(old.keyId)).toBe(false);
    expect(rotated.leafPublicDer.equals(old.leafPublicDer)).toBe(false);
    expect(rotated.previous).toEqual({ certPem: old.certPem, graceUntil });
    // Same school, same day: the new root still has a name of its own.
    const oldCert = new X509Certificate(old.certPem);
    const newCert = new X509Certificate(rotated.certPem);
    expect(commonName(newCert)).toBe(`${commonName(oldCert)} (2)`);

    expect(rotated.chainPem).toHaveLength(1);
    const cross = new X509Certificate(rotated.chainPem[0]!);
    expect(cross.subject).toBe(newCert.subject);
    expect(cross.issuer).toBe(oldCert.subject);
    expect(cross.publicKey.equals(newCert.publicKey)).toBe(true);
    expect(cross.verify(oldCert.publicKey)).toBe(true);
    expect(cross.ca).toBe(true);
    // The cross-certificate itself ends with the grace period (to the second).
    expect(new Date(cross.validTo).getTime()).toBe(Math.floor(graceUntil.getTime() / 1000) * 1000);

    const dir = caFolder(data);
    if (onPosix) for (const f of Object.values(CA_FILES)) expect(mode(join(dir, f)), f).toBe(0o600);
    expect(readFileSync(join(dir, CA_FILES.previousCert), 'utf8')).toBe(old.certPem);

    const during = loadCa(data, new Date(graceUntil.getTime() - 1))!;
    expect(during.chainPem).toEqual(rotated.chainPem);
    const after = loadCa(data, graceUntil)!;
    expect(after.previous).toBeNull();
    expect(after.chainPem).toEqual([]);
    expect(after.certPem).toBe(rotated.certPem);
  });

  it('links the cross-certificate with key identifiers: authority = old root, subject = new root', async () => {
    const data = freshData();
    const old = initCa(data, { schoolName: SCHOOL });
    const rotated = rotateCa(data, { schoolName: SCHOOL, graceDays: 5 });
    const text = (await run('openssl', ['x509', '-noout', '-text', '-in', join(caFolder(data), CA_FILES.crossCert)])).stdout;
    const hex = (b: Buffer): string => b.toString('hex').toUpperCase().match(/../g)!.join(':');
    expect(text).toMatch(new RegExp(`Subject Key Identifier:\\s+${hex(rotated.keyId)}`));
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${hex(old.keyId)}`));
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  });

  it('with no grace period, lets go of the old root at once; a second rotation keeps only the last root', () => {
    const data = freshData();
    initCa(data, { schoolName: SCHOOL });
    const none = rotateCa(data, { schoolName: SCHOOL, graceDays: 0 });
    expect(none.previous).toBeNull();
    expect(none.chainPem).toEqual([]);
    const again = rotateCa(data, { schoolName: SCHOOL, graceDays: 10 });
    expect(again.previous!.certPem).toBe(none.certPem);
    expect(() => rotateCa(data, { schoolName: SCHOOL, graceDays: -1 })).toThrow(/grace days/);
  });

  it('names a damaged rotation file', () => {
    const data = freshData();
    initCa(data, { schoolName: SCHOOL });
    rotateCa(data, { schoolName: SCHOOL, graceDays: 10 });
    const file = join(caFolder(data), CA_FILES.rotation);
    writeFileSync(file, '{"graceUntil":');
    expect(() => loadCa(data)).toThrow(`${file} is damaged`);
    writeFileSync(file, JSON.stringify({ graceUntil: new Date(Date.now() + DAY).toISOString() }));
    // A cross-certificate that does not link the two roots is refused, not sent.
    copyFileSync(join(caFolder(data), CA_FILES.previousCert), join(caFolder(data), CA_FILES.crossCert));
    expect(() => loadCa(data)).toThrow(/cross\.crt does not link previous\.crt to root\.crt/);
  });
});

describe('rootCommonName', () => {
  const day = new Date('2026-11-22T23:59:00Z');
  it.each([
    [null, 'Schoolgate Root CA Oak School 2026-11-22'],
    ['Schoolgate Root CA Oak School 2026-10-01', 'Schoolgate Root CA Oak School 2026-11-22'],
    ['Schoolgate Root CA Oak School 2026-11-22', 'Schoolgate Root CA Oak School 2026-11-22 (2)'],
    ['Schoolgate Root CA Oak School 2026-11-22 (2)', 'Schoolgate Root CA Oak School 2026-11-22 (3)'],
    ['Schoolgate Root CA Elm School 2026-11-22', 'Schoolgate Root CA Oak School 2026-11-22'],
  ])('after %s: %s', (previous, expected) => {
    expect(rootCommonName('Oak School', day, previous)).toBe(expected);
  });

  it('fits a long school name into the 64 characters a common name may hold', () => {
    const long = 'The Blessed Cardinal John Henry Newman Catholic Voluntary Academy and Sixth Form';
    const cn = rootCommonName(long, day, `${rootCommonName(long, day, null)} (9)`);
    expect(cn.length).toBeLessThanOrEqual(64);
    expect(cn).toMatch(/^Schoolgate Root CA The Blessed .* 2026-11-22 \(10\)$/);
  });
});
