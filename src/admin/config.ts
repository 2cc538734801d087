// The `admin:` section: where the staff web app listens, and the rules for unblock requests.
import type { Checker } from '../config/check.js';
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';

export interface AdminConfig {
  readonly host: string;
  readonly port: number;
  /** Serve the app over HTTPS with a certificate from the school's CA (when it exists); cookies are then Secure. */
  readonly https: boolean;
  /** Sign-in lasts this long (a school day by default). */
  readonly sessionMs: number;
  readonly unblocks: {
    /** The longest an unblock may last. */
    readonly maxDays: number;
    /** Categories whose unblock for the requester alone is approved at once (low risk). */
    readonly autoApprove: ReadonlySet<string>;
  };
}

const KEYS = ['host', 'port', 'https', 'sessionHours', 'unblocks'];
const HOUR = 3_600_000;

export function parseAdminConfig(check: Checker, value: unknown, categories: { has(id: string): boolean }): AdminConfig {
  const root = value === undefined ? {} : check.object(['admin'], value, KEYS) ?? {};
  const unblocks = root.unblocks === undefined ? {} : check.object(['admin', 'unblocks'], root.unblocks, ['maxDays', 'autoApprove']) ?? {};
  const autoApprove = new Set<string>();
  if (unblocks.autoApprove !== undefined) {
    (check.array(['admin', 'unblocks', 'autoApprove'], unblocks.autoApprove) ?? []).forEach((c, i) => {
      const id = check.string(['admin', 'unblocks', 'autoApprove', i], c);
      if (id === undefined) return;
      if (!categories.has(id)) check.fail(['admin', 'unblocks', 'autoApprove', i], `unknown category "${id}"`, 'use a category id from the category map');
      else if (ILLEGAL_CATEGORIES.has(id)) check.fail(['admin', 'unblocks', 'autoApprove', i], `${id} is illegal content: it can never be unblocked`);
      else autoApprove.add(id);
    });
  }
  return {
    // Every address, IPv6 and IPv4 alike (IPv4 only where the machine has no IPv6).
    host: root.host === undefined ? '::' : check.string(['admin', 'host'], root.host) ?? '::',
    port: root.port === undefined ? 8081 : check.number(['admin', 'port'], root.port, { min: 0, max: 65535, integer: true }) ?? 8081,
    https: root.https === undefined ? false : check.boolean(['admin', 'https'], root.https) ?? false,
    sessionMs: (root.sessionHours === undefined ? 10 : check.number(['admin', 'sessionHours'], root.sessionHours, { min: 1, max: 24 * 14 }) ?? 10) * HOUR,
    unblocks: {
      maxDays: unblocks.maxDays === undefined ? 7 : check.number(['admin', 'unblocks', 'maxDays'], unblocks.maxDays, { min: 1, max: 365, integer: true }) ?? 7,
      autoApprove,
    },
  };
}
