// HTTPS inspection as the running proxy uses it: the school's CA from the data folder and the
// certificate cache in front of it. No CA, no inspection: tunnels stay filtered by name.
import { X509Certificate } from 'node:crypto';
import type { Interception } from '../proxy/server.js';
import type { SchoolCa } from './ca.js';
import { CertificateCache, type CacheLog } from './cert-cache.js';

export interface RunningInterception extends Interception {
  readonly cache: CertificateCache;
  /** SHA-256 fingerprint of the root, as devices show it. */
  readonly fingerprint: string;
}

/** Inspection with the school's CA (loadCa: null before `ca init`, a CaError when its files are damaged or exposed). */
export function interceptionFor(ca: SchoolCa, opts: { validityDays: number; log?: CacheLog }): RunningInterception {
  const cache = new CertificateCache(ca, { validityDays: opts.validityDays, ...(opts.log ? { log: opts.log } : {}) });
  return { cache, caCertPem: ca.certPem, fingerprint: new X509Certificate(ca.certPem).fingerprint256, context: (host) => cache.context(host) };
}
