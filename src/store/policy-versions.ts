// Every configuration Schoolgate has run with: its text kept once per content hash in
// policy_versions, and a policy.changed audit row each time the configuration in force changes,
// including back to an earlier version. Loading the same text again records nothing.
//
// Who changed it: the staff app claims the text it is about to write (claimPolicyVersion), so
// whichever load swaps that text in (the app's own reload, a SIGHUP or a list update that happens
// to run first, or the next start after a crash) records the person and their reason. A text
// nobody claimed was edited on the server: it is recorded as such, as the account that loaded it.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { AuditLog } from './audit.js';

/** Where a version came from: a person in the staff app, or an edit of the file on the server. */
export type VersionSource = 'staff-app' | 'server';

export interface PolicyVersionInput {
  /** The main configuration file, as an absolute path. */
  readonly file: string;
  /** Its text, as it was loaded. */
  readonly text: string;
  /** The account that loaded it: recorded as the actor of a text nobody claimed. */
  readonly actor: string;
  readonly now?: () => Date;
}

export interface PolicyVersionResult {
  /** false when the text is the configuration already in force: nothing was written. */
  readonly changed: boolean;
  readonly sha256: string;
  /** The sha256 of the configuration in force before, or null for the first one. */
  readonly previous: string | null;
}

export interface PolicyClaim {
  /** The text about to be written. */
  readonly text: string;
  /** The staff-app person making the change. */
  readonly actor: string;
  /** What they wrote as the reason. */
  readonly reason: string;
  readonly now?: () => Date;
}

export function policySha(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Says who is about to write this text and why, before it is written; returns its hash for
 * dropPolicyClaim once the change is settled, recorded or not.
 */
export function claimPolicyVersion(db: Database, claim: PolicyClaim): string {
  if (claim.actor.trim() === '') throw new Error('a configuration change needs the person who made it');
  const sha256 = policySha(claim.text);
  const at = (claim.now ?? (() => new Date()))().toISOString();
  db.prepare('INSERT INTO policy_claims (sha256, actor, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET actor = excluded.actor, reason = excluded.reason, at = excluded.at')
    .run(sha256, claim.actor, claim.reason, at);
  return sha256;
}

/** Removes a claim that was not used (the change was refused, undone or overtaken by a hand edit). */
export function dropPolicyClaim(db: Database, sha256: string): void {
  db.prepare('DELETE FROM policy_claims WHERE sha256 = ?').run(sha256);
}

/** Records the configuration text loaded from file, if it is not the one in force already. */
export function recordPolicyVersion(db: Database, input: PolicyVersionInput): PolicyVersionResult {
  const now = input.now ?? (() => new Date());
  const sha256 = policySha(input.text);
  const audit = new AuditLog(db, { now });
  return db.transaction((): PolicyVersionResult => {
    // The version in force is the last one an audit row says was changed to, not the newest
    // text stored: a school that goes back to last week's configuration is a change too.
    const current = db.prepare("SELECT json_extract(detail, '$.sha256') FROM audit WHERE action = 'policy.changed' ORDER BY id DESC LIMIT 1").pluck().get() as string | null | undefined;
    const previous = current ?? null;
    if (previous === sha256) return { changed: false, sha256, previous };
    const claim = db.prepare('SELECT actor, reason FROM policy_claims WHERE sha256 = ?').get(sha256) as { actor: string; reason: string } | undefined;
    db.prepare('INSERT INTO policy_versions (at, sha256, file, text) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING').run(now().toISOString(), sha256, input.file, input.text);
    const base = { sha256, previous, file: input.file };
    audit.append(claim
      ? { actor: claim.actor, action: 'policy.changed', subject: input.file, detail: { ...base, source: 'staff-app' satisfies VersionSource, reason: claim.reason } }
      : { actor: input.actor, action: 'policy.changed', subject: input.file, detail: { ...base, source: 'server' satisfies VersionSource } });
    // Whatever was claimed is settled now: this text was the claim's, or a hand edit overtook it.
    db.prepare('DELETE FROM policy_claims').run();
    return { changed: true, sha256, previous };
  }).immediate();
}
