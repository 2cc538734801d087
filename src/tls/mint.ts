// A leaf certificate for a site, signed by the school's root: the certificate a device sees
// when Schoolgate inspects HTTPS. What browsers insist on decides its shape: the names in
// subjectAltName (Chrome ignores the common name), serverAuth, and a short life (Chrome refuses
// more than 398 days; a week means a leaked leaf is soon worthless and a renamed school soon
// shows its new name). The key is the CA's one P-256 leaf key; signing happens off the event loop.
import { CLOCK_SKEW_MS, type SchoolCa } from './ca.js';
import type { CertName } from './cert-name.js';
import { authorityKeyIdentifier, certificateDer, randomSerial, signAsync, tbsCertificate, toPem } from './certificate.js';

export const DEFAULT_LEAF_DAYS = 7;
/** Chrome's and Apple's limit is 398 days; stay under it whatever the configuration says. */
export const MAX_LEAF_DAYS = 397;
const DAY = 86_400_000;
/** The longest common name X.520 allows; a longer host goes in subjectAltName only. */
const MAX_COMMON_NAME = 64;

export interface MintedLeaf {
  readonly certPem: string;
  readonly notAfter: Date;
}

export async function mintLeaf(ca: SchoolCa, name: CertName, opts: { now?: Date; validityDays?: number } = {}): Promise<MintedLeaf> {
  const days = opts.validityDays ?? DEFAULT_LEAF_DAYS;
  if (!(days > 0 && days <= MAX_LEAF_DAYS)) throw new RangeError(`leaf validity must be more than 0 and at most ${MAX_LEAF_DAYS} days, not ${days}`);
  if (name.names.length + name.ips.length === 0) throw new RangeError(`certificate "${name.key}" has no names`);
  const now = (opts.now ?? new Date()).getTime();
  if (now >= ca.notAfter.getTime()) throw new Error(`the school's root CA expired on ${ca.notAfter.toISOString()}: run "schoolgate ca rotate"`);
  const notAfter = new Date(Math.min(now + days * DAY, ca.notAfter.getTime()));
  const first = name.names[0] ?? name.ips[0]!;
  const withCommonName = first.length <= MAX_COMMON_NAME;
  const tbs = tbsCertificate({
    serial: randomSerial(),
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter,
    subject: withCommonName ? [{ name: 'commonName', value: first }] : [],
    issuerDer: ca.subjectDer,
    spkiDer: ca.leafPublicDer,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        // RFC 5280: with an empty subject, subjectAltName must be critical.
        critical: !withCommonName,
        altNames: [...name.names.map((value) => ({ type: 2, value })), ...name.ips.map((ip) => ({ type: 7, ip }))],
      },
      authorityKeyIdentifier(ca.keyId),
    ],
  });
  const signature = await signAsync(tbs, ca.key);
  return { certPem: toPem(certificateDer(tbs, signature)), notAfter };
}
