// HTTPS inspection as the running proxy uses it: the school's CA from the data folder and the
// certificate cache in front of it. No CA, no inspection: tunnels stay filtered by name.
import { X509Certificate } from 'node:crypto';
import type { Interception } from '../proxy/server.js';
import { loadCa, type SchoolCa } from './ca.js';
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

interface InterceptionLog extends CacheLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The running proxy's inspection, read again from the data folder on every reload: `ca init`
 * turns it on without a restart, `ca rotate` moves new tunnels to the new root. A CA that no
 * longer loads (damaged, exposed) leaves the one in use, with the error logged.
 */
export class LiveInterception {
  private running: RunningInterception | null = null;

  constructor(private readonly dataDir: string, private readonly validityDays: () => number, private readonly log: InterceptionLog, first: SchoolCa | null) {
    this.use(first);
  }

  get current(): RunningInterception | null {
    return this.running;
  }

  refresh(): void {
    let ca: SchoolCa | null;
    try {
      ca = loadCa(this.dataDir);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'the school CA could not be read again: HTTPS inspection carries on with the one loaded before');
      return;
    }
    if (ca === null && this.running === null) return;
    if (ca === null) this.log.warn({ dataDir: this.dataDir }, 'the school CA is gone from the data folder: HTTPS inspection is off until it is restored');
    if (ca !== null && this.running !== null && new X509Certificate(ca.certPem).fingerprint256 === this.running.fingerprint) return;
    this.use(ca);
  }

  private use(ca: SchoolCa | null): void {
    this.running = ca ? interceptionFor(ca, { validityDays: this.validityDays(), log: this.log }) : null;
    if (this.running) this.log.info({ root: this.running.fingerprint }, 'HTTPS inspection on');
    else this.log.info({}, 'HTTPS inspection off: no school CA yet (npx schoolgate ca init); HTTPS is filtered by site name');
  }
}
