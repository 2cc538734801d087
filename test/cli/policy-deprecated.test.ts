// A school's existing file keeps working when a key is renamed, and `policy check` says what to change.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policyCommand } from '../../src/cli/policy.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

async function check(policy: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const file = join(tmp.dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `categories: ${CONFIG_DIR}/categories.yaml\npolicy:\n${policy}`);
  const out: string[] = [];
  const err: string[] = [];
  const code = await policyCommand(['check', file], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out, err };
}

describe('policy check with a renamed key', () => {
  it('reads seniorLeaderApproval as sltApproval, and warns with the line and the fix', async () => {
    const r = await check('  seniorLeaderApproval: [drugs]\n');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain('SLT approval needed to unblock: drugs');
    expect(r.err).toEqual([expect.stringMatching(/:3: policy\.seniorLeaderApproval: "seniorLeaderApproval" is deprecated: .*\(fix: rename it to sltApproval\)$/)]);
  });

  it('says nothing more for the new name', async () => {
    const r = await check('  sltApproval: [drugs]\n');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain('SLT approval needed to unblock: drugs');
    expect(r.err).toEqual([]);
  });
});
