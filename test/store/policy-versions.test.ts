// Configuration versions: each text kept once, a policy.changed audit row whenever the
// configuration in force changes, and nothing when the same text is loaded again.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/store/audit.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { recordPolicyVersion } from '../../src/store/policy-versions.js';
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
    expect(changes()).toEqual([['schoolgate', FILE, { sha256: sha(A), previous: null, file: FILE }]]);
  });

  it('records a changed text as a second version, and going back as a change without a third copy', () => {
    recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate' });
    expect(recordPolicyVersion(db, { file: FILE, text: B, actor: 'schoolgate' })).toEqual({ changed: true, sha256: sha(B), previous: sha(A) });
    expect(recordPolicyVersion(db, { file: FILE, text: B, actor: 'schoolgate' }).changed).toBe(false);
    expect(recordPolicyVersion(db, { file: FILE, text: A, actor: 'dsl' })).toEqual({ changed: true, sha256: sha(A), previous: sha(B) });
    expect(versions()).toEqual([{ sha256: sha(A), file: FILE, text: A }, { sha256: sha(B), file: FILE, text: B }]);
    expect(changes()).toEqual([
      ['schoolgate', FILE, { sha256: sha(A), previous: null, file: FILE }],
      ['schoolgate', FILE, { sha256: sha(B), previous: sha(A), file: FILE }],
      ['dsl', FILE, { sha256: sha(A), previous: sha(B), file: FILE }],
    ]);
    expect(new AuditLog(db).verify()).toMatchObject({ ok: true, rows: 3 });
  });

  it('stores no version when its audit row cannot be written', () => {
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END");
    expect(() => recordPolicyVersion(db, { file: FILE, text: A, actor: 'schoolgate' })).toThrow('audit unavailable');
    expect(versions()).toEqual([]);
  });
});
