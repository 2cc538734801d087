// Every configuration Schoolgate has run with: its text kept once per content hash in
// policy_versions, and a policy.changed audit row each time the configuration in force changes,
// including back to an earlier version. Loading the same text again records nothing.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { AuditLog } from './audit.js';

export interface PolicyVersionInput {
  /** The main configuration file, as an absolute path. */
  readonly file: string;
  /** Its text, as it was loaded. */
  readonly text: string;
  readonly actor: string;
  /** Why it changed, where someone said (the staff app asks). */
  readonly reason?: string;
  readonly now?: () => Date;
}

export interface PolicyVersionResult {
  /** false when the text is the configuration already in force: nothing was written. */
  readonly changed: boolean;
  readonly sha256: string;
  /** The sha256 of the configuration in force before, or null for the first one. */
  readonly previous: string | null;
}

/** Records the configuration text loaded from file, if it is not the one in force already. */
export function recordPolicyVersion(db: Database, input: PolicyVersionInput): PolicyVersionResult {
  const now = input.now ?? (() => new Date());
  const sha256 = createHash('sha256').update(input.text, 'utf8').digest('hex');
  const audit = new AuditLog(db, { now });
  return db.transaction((): PolicyVersionResult => {
    // The version in force is the last one an audit row says was changed to, not the newest
    // text stored: a school that goes back to last week's configuration is a change too.
    const current = db.prepare("SELECT json_extract(detail, '$.sha256') FROM audit WHERE action = 'policy.changed' ORDER BY id DESC LIMIT 1").pluck().get() as string | null | undefined;
    const previous = current ?? null;
    if (previous === sha256) return { changed: false, sha256, previous };
    db.prepare('INSERT INTO policy_versions (at, sha256, file, text) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING').run(now().toISOString(), sha256, input.file, input.text);
    audit.append({ actor: input.actor, action: 'policy.changed', subject: input.file, detail: { sha256, previous, file: input.file, ...(input.reason ? { reason: input.reason } : {}) } });
    return { changed: true, sha256, previous };
  }).immediate();
}
