// Every certificate Schoolgate issues (the root, the cross-certificate of a rotation, each leaf)
// is made here: node-forge encodes the TBSCertificate (serial, validity, names, extensions),
// and Node's crypto signs it. Forge cannot hold an EC key and its JavaScript RSA signing takes
// 45-110 ms, so the public key and the issuer name are spliced in as DER bytes after forge has
// encoded the rest, and the signature comes from OpenSSL: `signAsync` on the libuv thread pool
// for leaves (off the event loop), `signSync` for the rare root and cross-certificate.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { bitString, children, readTlv, sequence } from './der.js';

/** AlgorithmIdentifier { sha256WithRSAEncryption, NULL }: the root is RSA (RFC 4055 wants the NULL). */
const SHA256_WITH_RSA = Buffer.from('300d06092a864886f70d01010b0500', 'hex');

// Forge will only encode a TBSCertificate that has a public key; this one is replaced by the
// real SubjectPublicKeyInfo before anything is signed.
const PLACEHOLDER_KEY = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('1'), new forge.jsbn.BigInteger('1'));

// Not in @types/node-forge, but public and documented in forge's x509.js.
const getTBSCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

export interface NameAttribute {
  readonly name: 'commonName' | 'organizationName' | 'organizationalUnitName';
  readonly value: string;
}

export interface CertificateSpec {
  readonly serial: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject as attributes (UTF8String), or a Name's DER to copy byte for byte. */
  readonly subject: readonly NameAttribute[] | Buffer;
  /** The issuer's Name as DER, or null when the certificate is self-issued (the subject). */
  readonly issuerDer: Buffer | null;
  /** The subject's public key: a SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Buffer;
  /** Extensions in node-forge's form ({ name: 'basicConstraints', cA: true, … }). */
  readonly extensions: readonly Record<string, unknown>[];
}

/** The DER of the TBSCertificate for `spec`, signature algorithm sha256WithRSAEncryption. */
export function tbsCertificate(spec: CertificateSpec): Buffer {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = spec.serial.toString('hex');
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const attributes = Buffer.isBuffer(spec.subject)
    ? []
    : spec.subject.map((a) => ({ name: a.name, value: forge.util.encodeUtf8(a.value), valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class }));
  cert.setSubject(attributes);
  cert.setIssuer(attributes);
  cert.publicKey = PLACEHOLDER_KEY;
  // setExtensions fills in fields of the objects it is given: give it copies.
  cert.setExtensions(spec.extensions.map((e) => ({ ...e })));
  const encoded = Buffer.from(forge.asn1.toDer(getTBSCertificate(cert)).getBytes(), 'binary');
  // [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  const parts = children(readTlv(encoded)).map((p) => p.der);
  if (parts.length !== 8) throw new Error(`forge made a TBSCertificate of ${parts.length} parts, expected 8`);
  const subject = Buffer.isBuffer(spec.subject) ? spec.subject : parts[5]!;
  parts[2] = SHA256_WITH_RSA;
  parts[3] = spec.issuerDer ?? subject;
  parts[5] = subject;
  parts[6] = spec.spkiDer;
  return sequence(...parts);
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function certificateDer(tbs: Buffer, signature: Buffer): Buffer {
  return sequence(tbs, SHA256_WITH_RSA, bitString(signature));
}

/** PKCS#1 v1.5 SHA-256 over the TBSCertificate with the RSA issuer key, on this thread. */
export function signSync(tbs: Buffer, issuerKey: KeyObject): Buffer {
  return sign('sha256', tbs, issuerKey);
}

/** The same, on the libuv thread pool: the event loop keeps serving while a leaf is signed. */
export function signAsync(tbs: Buffer, issuerKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign('sha256', tbs, issuerKey, (err, sig) => (err ? reject(err) : resolve(sig))));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo. */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const [, key] = children(readTlv(spkiDer));
  if (key?.tag !== 0x03) throw new Error('not a SubjectPublicKeyInfo');
  return createHash('sha1').update(key.contents.subarray(1)).digest();
}

/** 16 random bytes, a positive INTEGER in minimal DER (first byte 0x01-0x7f). */
export function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial;
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER of every certificate in a PEM text, in order. */
export function pemToDers(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** subjectKeyIdentifier with a key id computed by `keyIdentifier` (forge would hash its placeholder key). */
export function subjectKeyIdentifier(keyId: Buffer): Record<string, unknown> {
  return { name: 'subjectKeyIdentifier', value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, keyId.toString('binary')) };
}

export function authorityKeyIdentifier(keyId: Buffer): Record<string, unknown> {
  return { name: 'authorityKeyIdentifier', keyIdentifier: keyId.toString('binary') };
}
