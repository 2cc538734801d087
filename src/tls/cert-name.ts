// Which certificate a host gets. One certificate serves a site's hosts (www.example.com,
// img.example.com and example.com all get "example.com, *.example.com"), so a page that pulls
// from ten subdomains costs one mint and one cached context, not ten.
//
// The rule, for a host h with parent p (h without its first label):
// - an IP address gets an IP subjectAltName only, keyed by its canonical text;
// - a name that is itself a public suffix (co.uk, com, a single label) gets exactly itself;
// - otherwise the certificate is for a base name B: p when p is not a public suffix, else h,
//   and lists [B, *.B]. A wildcard covers exactly one label, so *.B covers h when B = p, and
//   B is listed for when h = B. The key is "*.B", so every host of B shares one entry.
// The names depend only on the key: a cached certificate is the same whichever host asked first.
//
// Browsers refuse a wildcard directly under a public suffix (*.co.uk, *.com); the short list
// below stands in for the Public Suffix List where it matters most here. Getting it wrong is
// not a security problem (the certificate is ours, for our own interception) but an error page.
import { domainToASCII } from 'node:url';
import { canonicalIp } from '../net/ip.js';

export interface CertName {
  /** The cache key: hosts with the same key are served by the same certificate. */
  readonly key: string;
  /** DNS subjectAltNames, first one also the subject's common name. */
  readonly names: readonly string[];
  /** IP subjectAltNames (IPv4 dotted, IPv6 compressed). */
  readonly ips: readonly string[];
}

export class CertNameError extends Error {
  override readonly name = 'CertNameError';
}

/** Second-level labels that are registries under a two-letter country code (co.uk, com.au, ac.jp, …). */
const REGISTRY_LABELS = new Set([
  'ac', 'co', 'com', 'edu', 'gov', 'govt', 'net', 'org', 'sch', 'nhs', 'ltd', 'plc', 'police', 'mod', 'me', 'mil',
  'ne', 'or', 'go', 'gv', 'nic', 'res', 'gob', 'int', 'info', 'biz', 'nom', 'k12',
]);

/**
 * Public suffixes of three labels that matter in UK schools: every name directly under sch.uk is
 * a local authority's registry (stmarys.essex.sch.uk), so *.essex.sch.uk would be refused.
 */
const REGISTRY_PARENTS = new Set(['sch.uk']);

function isPublicSuffix(name: string): boolean {
  const labels = name.split('.');
  if (labels.length === 1) return true;
  const [first, second] = labels;
  if (labels.length === 2) return second!.length === 2 && REGISTRY_LABELS.has(first!);
  return labels.length === 3 && REGISTRY_PARENTS.has(labels.slice(1).join('.'));
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** The certificate for `host`: a name or IP address as it came in SNI or CONNECT. */
export function certNameFor(host: string): CertName {
  const ip = canonicalIp(host);
  if (ip !== null) return { key: ip, names: [], ips: [ip] };

  // Lower case and A-labels (SNI carries A-labels already; a CONNECT line might not).
  // domainToASCII parses a URL host, so "a/b" would become "a": refuse URL syntax first.
  const unsuitable = /[^\p{L}\p{M}\p{N}._-]/u.test(host);
  const name = unsuitable ? '' : domainToASCII(host.replace(/\.$/, ''));
  if (name === '' || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    throw new CertNameError(`"${host.slice(0, 100)}" is not a host name a certificate can be made for`);
  }
  // A public suffix gets only its own name; so does a host whose first label holds "_", which
  // OpenSSL will not match against a wildcard.
  if (isPublicSuffix(name) || name.split('.', 1)[0]!.includes('_')) return { key: name, names: [name], ips: [] };
  const parent = name.slice(name.indexOf('.') + 1);
  const base = isPublicSuffix(parent) ? name : parent;
  return { key: `*.${base}`, names: [base, `*.${base}`], ips: [] };
}
