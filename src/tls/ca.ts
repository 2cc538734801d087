// The school's root certificate authority for HTTPS inspection, kept in <data>/ca/:
//   root.key, root.crt   the root (RSA-2048: the key type every school device trusts)
//   leaf.key             one ECDSA P-256 key shared by every leaf certificate (a P-256
//                        handshake costs a twentieth of an RSA-2048 one; the key never leaves
//                        the proxy, so one key for all leaves loses nothing a per-leaf key would keep)
//   previous.crt, cross.crt, rotation.json   after a rotation: the old root, the new root's
//                        certificate issued by the old one, and when the grace period ends.
// The folder is owner-only and so is every file: whoever reads root.key can impersonate any
// website to every device of the school. No function here logs or prints a private key.
//
// Rotation without a flag day: leaves are signed by the new root at once, and during the grace
// period each handshake sends the cross-certificate after the leaf. A device that trusts only
// the old root builds leaf -> cross -> old root; one that trusts the new root stops at it.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  authorityKeyIdentifier, certificateDer, keyIdentifier, randomSerial, signSync, subjectKeyIdentifier, tbsCertificate, toPem,
} from './certificate.js';
import { CaError } from './ca-error.js';
import { tbsParts } from './der.js';

export { CaError };

export const CA_FOLDER = 'ca';
export const CA_FILES = {
  rootKey: 'root.key', rootCert: 'root.crt', leafKey: 'leaf.key',
  previousCert: 'previous.crt', crossCert: 'cross.crt', rotation: 'rotation.json',
} as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ROOT_YEARS = 10;
/** Devices whose clocks run a little slow still accept a certificate made just now. */
export const CLOCK_SKEW_MS = HOUR;

export interface SchoolCa {
  /** The folder the files are in. */
  readonly dir: string;
  readonly certPem: string;
  readonly certDer: Buffer;
  /** The root's private key: signs leaves. */
  readonly key: KeyObject;
  /** The root's subject Name, DER: copied as the issuer of every leaf. */
  readonly subjectDer: Buffer;
  /** The root's subjectKeyIdentifier: every leaf's authorityKeyIdentifier. */
  readonly keyId: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The P-256 key of every leaf. */
  readonly leafKey: KeyObject;
  readonly leafKeyPem: string;
  /** Its SubjectPublicKeyInfo, DER. */
  readonly leafPublicDer: Buffer;
  /** Certificates to send after the leaf: the cross-certificate during a rotation's grace period. */
  readonly chainPem: readonly string[];
  /** The root before the last rotation, while its grace period runs. */
  readonly previous: null | { readonly certPem: string; readonly graceUntil: Date };
}

export function caFolder(dataDir: string): string {
  return join(resolve(dataDir), CA_FOLDER);
}

/** Makes the school's root and the leaf key; refuses when a CA is there already. */
export function initCa(dataDir: string, opts: { schoolName: string; now?: Date }): SchoolCa {
  const dir = caFolder(dataDir);
  if (existsSync(join(dir, CA_FILES.rootCert)) || existsSync(join(dir, CA_FILES.rootKey))) {
    throw new CaError(`a root CA exists already in ${dir}: devices trust it, so it is not replaced by init. Use "schoolgate ca rotate" to move to a new one`);
  }
  const now = opts.now ?? new Date();
  ownerOnlyFolder(dir);
  const root = makeRoot(opts.schoolName, now, null);
  replaceFiles(dir, [[CA_FILES.rootKey, root.keyPem], [CA_FILES.rootCert, root.certPem], [CA_FILES.leafKey, makeLeafKeyPem()]]);
  // Reading back what was written proves the files are whole before anyone deploys the root.
  return loadCa(dataDir, now)!;
}

/**
 * Makes a new root and leaf key, keeps the old root as `previous` until now + graceDays, and
 * issues the cross-certificate (new root's name and key, signed by the old root) that lets
 * devices which trust only the old root accept leaves of the new one meanwhile. A rotation
 * during another's grace period drops the older root: only one previous root is kept.
 */
export function rotateCa(dataDir: string, opts: { schoolName: string; graceDays: number; now?: Date }): SchoolCa {
  const now = opts.now ?? new Date();
  if (!Number.isInteger(opts.graceDays) || opts.graceDays < 0) throw new CaError(`grace days must be a whole number of at least 0, not ${opts.graceDays}`);
  const old = loadCa(dataDir, now);
  if (old === null) throw new CaError(`there is no root CA in ${caFolder(dataDir)} to rotate: run "schoolgate ca init" first`);
  const root = makeRoot(opts.schoolName, now, commonName(new X509Certificate(old.certPem)));
  const graceUntil = new Date(now.getTime() + opts.graceDays * DAY);
  const crossTbs = tbsCertificate({
    serial: randomSerial(),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    // The cross-certificate itself ends the grace period on every device.
    notAfter: new Date(Math.min(graceUntil.getTime(), old.notAfter.getTime())),
    subject: root.subjectDer,
    issuerDer: old.subjectDer,
    spkiDer: root.spkiDer,
    extensions: [...caExtensions(root.keyId, 0), authorityKeyIdentifier(old.keyId)],
  });
  const crossPem = toPem(certificateDer(crossTbs, signSync(crossTbs, old.key)));
  replaceFiles(old.dir, [
    [CA_FILES.previousCert, old.certPem],
    [CA_FILES.crossCert, crossPem],
    [CA_FILES.rotation, `${JSON.stringify({ graceUntil: graceUntil.toISOString(), rotatedAt: now.toISOString() })}\n`],
    [CA_FILES.rootKey, root.keyPem],
    [CA_FILES.rootCert, root.certPem],
    [CA_FILES.leafKey, makeLeafKeyPem()],
  ]);
  return loadCa(dataDir, now)!;
}

/**
 * The CA in dataDir/ca, or null when there is none. Throws a CaError naming the file and the fix
 * when a file is damaged or missing, or a private key can be read by others.
 */
export function loadCa(dataDir: string, now: Date = new Date()): SchoolCa | null {
  const dir = caFolder(dataDir);
  if (!existsSync(join(dir, CA_FILES.rootCert)) && !existsSync(join(dir, CA_FILES.rootKey))) return null;
  const key = readPrivateKey(dir, CA_FILES.rootKey);
  if (key.asymmetricKeyType !== 'rsa') throw new CaError(`${join(dir, CA_FILES.rootKey)} is not an RSA key: the root key must be the RSA key "schoolgate ca init" made`);
  const certPem = readText(dir, CA_FILES.rootCert);
  const cert = parseCertificate(dir, CA_FILES.rootCert, certPem);
  if (!cert.checkPrivateKey(key)) {
    throw new CaError(`${join(dir, CA_FILES.rootKey)} does not belong to ${join(dir, CA_FILES.rootCert)} (an interrupted rotation, or a file copied from elsewhere): restore the folder ${dir} from a backup`);
  }
  const leafKey = readPrivateKey(dir, CA_FILES.leafKey);
  if (leafKey.asymmetricKeyType !== 'ec' || leafKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CaError(`${join(dir, CA_FILES.leafKey)} is not an ECDSA P-256 key: delete it and run "schoolgate ca rotate", or restore it from a backup`);
  }
  const { subject } = tbsParts(cert.raw);
  const rotation = readRotation(dir, cert, now);
  return {
    dir,
    certPem,
    certDer: cert.raw,
    key,
    subjectDer: Buffer.from(subject.der),
    keyId: keyIdentifier(cert.publicKey.export({ type: 'spki', format: 'der' })),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    leafKey,
    leafKeyPem: leafKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    leafPublicDer: createPublicKey(leafKey).export({ type: 'spki', format: 'der' }),
    chainPem: rotation ? [rotation.crossPem] : [],
    previous: rotation ? { certPem: rotation.previousPem, graceUntil: rotation.graceUntil } : null,
  };
}

/** The rotation in its grace period at `now`, checked: null when there is none or it has ended. */
function readRotation(dir: string, root: X509Certificate, now: Date): { previousPem: string; crossPem: string; graceUntil: Date } | null {
  const file = join(dir, CA_FILES.rotation);
  if (!existsSync(file)) return null;
  let graceUntil: Date;
  try {
    graceUntil = new Date((JSON.parse(readFileSync(file, 'utf8')) as { graceUntil: string }).graceUntil);
    if (Number.isNaN(graceUntil.getTime())) throw new Error('graceUntil is not a date');
  } catch (err) {
    throw new CaError(`${file} is damaged (${(err as Error).message}): delete it to end the rotation's grace period now`);
  }
  if (now.getTime() >= graceUntil.getTime()) return null;
  const previousPem = readText(dir, CA_FILES.previousCert);
  const previous = parseCertificate(dir, CA_FILES.previousCert, previousPem);
  const crossPem = readText(dir, CA_FILES.crossCert);
  const cross = parseCertificate(dir, CA_FILES.crossCert, crossPem);
  if (!cross.publicKey.equals(root.publicKey) || !cross.verify(previous.publicKey) || cross.subject !== root.subject) {
    throw new CaError(`${join(dir, CA_FILES.crossCert)} does not link ${CA_FILES.previousCert} to ${CA_FILES.rootCert}: restore the folder ${dir} from a backup, or delete ${CA_FILES.rotation} to end the grace period now`);
  }
  return { previousPem, crossPem, graceUntil };
}

interface NewRoot {
  readonly keyPem: string;
  readonly certPem: string;
  readonly subjectDer: Buffer;
  readonly spkiDer: Buffer;
  readonly keyId: Buffer;
}

function makeRoot(schoolName: string, now: Date, previousCommonName: string | null): NewRoot {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spkiDer);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + ROOT_YEARS);
  const tbs = tbsCertificate({
    serial: randomSerial(),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    subject: [
      { name: 'commonName', value: rootCommonName(schoolName, now, previousCommonName) },
      { name: 'organizationName', value: chars(schoolName, 64) },
    ],
    issuerDer: null,
    spkiDer,
    // pathLen 1, not 0: during a rotation the cross-certificate stands between the old root and leaves.
    extensions: caExtensions(keyId, 1),
  });
  const certDer = certificateDer(tbs, signSync(tbs, privateKey));
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: toPem(certDer),
    subjectDer: Buffer.from(tbsParts(certDer).subject.der),
    spkiDer,
    keyId,
  };
}

function caExtensions(keyId: Buffer, pathLen: number): Record<string, unknown>[] {
  return [
    { name: 'basicConstraints', cA: true, pathLenConstraint: pathLen, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    subjectKeyIdentifier(keyId),
  ];
}

/**
 * "Schoolgate Root CA <school> <YYYY-MM-DD>": the date tells a technician which root a device
 * has. A second root made the same day gets " (2)", " (3)", … so old and new never share a name
 * (chain building looks issuers up by name). A common name may hold 64 characters.
 */
export function rootCommonName(schoolName: string, now: Date, previous: string | null): string {
  const base = `Schoolgate Root CA ${chars(schoolName, 29)} ${now.toISOString().slice(0, 10)}`;
  if (previous === null || (previous !== base && !previous.startsWith(`${base} (`))) return base;
  const n = previous === base ? 2 : Number(/\((\d+)\)$/.exec(previous)?.[1] ?? '1') + 1;
  return `${base} (${n})`;
}

export function commonName(cert: X509Certificate): string | null {
  return cert.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? null;
}

function chars(text: string, max: number): string {
  return [...text.trim()].slice(0, max).join('').trim();
}

function makeLeafKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function ownerOnlyFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Writes every file beside its final name first, then renames them into place one after
 * another: a crash leaves either whole old files or whole new ones, never a half-written key.
 */
function replaceFiles(dir: string, files: readonly (readonly [string, string])[]): void {
  const staged = files.map(([name, text]) => {
    const tmp = join(dir, `${name}.new`);
    rmSync(tmp, { force: true });
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600); // in case the umask took bits the mode asked for
    return [tmp, join(dir, name)] as const;
  });
  for (const [tmp, file] of staged) renameSync(tmp, file);
}

function readText(dir: string, name: string): string {
  const file = join(dir, name);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CaError(`${file} could not be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the CA folder ${dir} is incomplete; restore it from a backup`);
  }
}

function readPrivateKey(dir: string, name: string): KeyObject {
  const file = join(dir, name);
  const text = readText(dir, name);
  if (process.platform !== 'win32') {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new CaError(`${file} can be read by other users (mode ${mode.toString(8).padStart(3, '0')}): Schoolgate will not use a private key others may have copied. Run "chmod 600 ${file}" (and consider "schoolgate ca rotate" if it may have been read)`);
    }
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new CaError(`${file} is not a private key Schoolgate can read (${(err as Error).message}): restore it from a backup`);
  }
}

function parseCertificate(dir: string, name: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CaError(`${join(dir, name)} is not a certificate Schoolgate can read (${(err as Error).message}): restore it from a backup`);
  }
}
