// Configuration versions: each text kept once, a policy.changed audit row whenever the
// configuration in force changes, and nothing when the same text is loaded again; a text the
// staff app claimed is recorded as its person's, with their reason, and any other as a hand edit.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/store/audit.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { claimPolicyVersion, dropPolicyClaim, recordPolicyVersion } from '../../src/store/policy-versions.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-policy-versions-');
afterAll(tmp.cleanup);
let n = 0;

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const FILE = '/etc/schoolgate/default.yaml';
const A = 'school:\n  name: Example Primary\n';
const B = 'school:\n  name: Example Primary School\n';

describe('recordPolicyVersion', () => {
  let db: Database;
  beforeEach(() => {
    db = openDatabase(join(tmp.dir, `data-${++n}`));
  });
  afterEach(() => db.close());

  const versions = (): unknown[] => db.prepare('SELECT sha256, file, text FROM policy_versions ORDER BY id').all();
  const changes = (): unknown[] => new AuditLog(db).list({ action: 'policy.changed' }).reverse().map((r) => [r.actor, r.subject, r.detail]);

  it('stores a text once and audits it once, however often it is loaded', () => {
    const now = () => new Date('2026-09-01T07:00:00Z');
    expect(recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate', now })).toEqual({ changed: true, sha256: sha(A), previous: null });
    expect(recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate', now })).toEqual({ changed: false, sha256: sha(A), previous: sha(A) });
    expect(db.prepare('SELECT at, sha256, file, text FROM policy_versions').all()).toEqual([{ at: '2026-09-01T07:00:00.000Z', sha256: sha(A), file: FILE, text: A }]);
    expect(changes()).toEqual([['schoolgate', FILE, { sha256: sha(A), previous: null, file: FILE, source: 'server' }]]);
  });

  it('records a changed text as a second version, and going back as a change without a third copy', () => {
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate' });
    expect(recordPolicyVersion(db, { file: FILE, text: B, actor: 'schoolgate' })).toEqual({ changed: true, sha256: sha(B), previous: sha(A) });
    expect(recordPolicyVersion(db, { file: FILE, text: B, actor: 'schoolgate' }).changed).toBe(false);
    expect(recordPolicyVersion(db, { file: FILE, text: A, actor: 'dsl' })).toEqual({ changed: true, sha256: sha(A), previous: sha(B) });
    expect(versions()).toEqual([{ sha256: sha(A), file: FILE, text: A }, { sha256: sha(B), file: FILE, text: B }]);
    expect(changes()).toEqual([
      ['schoolgate', FILE, { sha256: sha(A), previous: null, file: FILE, source: 'server' }],
      ['schoolgate', FILE, { sha256: sha(B), previous: sha(A), file: FILE, source: 'server' }],
      ['dsl', FILE, { sha256: sha(A), previous: sha(B), file: FILE, source: 'server' }],
    ]);
    expect(new AuditLog(db).verify()).toMatchObject({ ok: true, rows: 3 });
  });

  const claims = (): unknown[] => db.prepare('SELECT sha256, actor, reason FROM policy_claims').all();

  it('records a claimed text as the person who claimed it, with their reason, whoever loads it', () => {
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'root' });
    claimPolicyVersion(db, { text: B, actor: 'it.tech', reason: 'Golden time all week' });
    // A reload of the text already in force (a list update) neither records nor uses the claim.
    expect(recordPolicyVersion(db, { file: FILE, text: A, actor: 'root' }).changed).toBe(false);
    expect(claims()).toEqual([{ sha256: sha(B), actor: 'it.tech', reason: 'Golden time all week' }]);
    // The reload that swaps the text in runs as the server's account: the claim names the person.
    expect(recordPolicyVersion(db, { file: FILE, text: B, actor: 'root' }).changed).toBe(true);
    expect(changes().at(-1)).toEqual(['it.tech', FILE, { sha256: sha(B), previous: sha(A), file: FILE, source: 'staff-app', reason: 'Golden time all week' }]);
    expect(claims()).toEqual([]);
    // Going back to A by hand afterwards is the server's, not the app person's.
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'root' });
    expect(changes().at(-1)).toEqual(['root', FILE, { sha256: sha(A), previous: sha(B), file: FILE, source: 'server' }]);
  });

  it('a hand edit loaded while a claim is outstanding is recorded as the server\'s, and ends the claim', () => {
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'root' });
    claimPolicyVersion(db, { text: B, actor: 'it.tech', reason: 'Golden time all week' });
    const C = `${B}# edited by hand\n`;
    recordPolicyVersion(db, { file: FILE, text: C, actor: 'root' });
    expect(changes().at(-1)).toEqual(['root', FILE, { sha256: sha(C), previous: sha(A), file: FILE, source: 'server' }]);
    expect(claims()).toEqual([]);
    // The claimed text loaded later (the hand edit undone) is a hand edit too: the claim was for a change from A.
    recordPolicyVersion(db, { file: FILE, text: B, actor: 'root' });
    expect(changes().at(-1)).toMatchObject(['root', FILE, { source: 'server' }]);
  });

  it('a dropped claim names nobody', () => {
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'root' });
    dropPolicyClaim(db, claimPolicyVersion(db, { text: B, actor: 'it.tech', reason: 'Refused by the loader' }));
    recordPolicyVersion(db, { file: FILE, text: B, actor: 'root' });
    expect(changes().at(-1)).toMatchObject(['root', FILE, { source: 'server' }]);
  });

  it('stores no version when its audit row cannot be written', () => {
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END");
    expect(() => recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate' })).toThrow('audit unavailable');
    expect(versions()).toEqual([]);
  });
});
