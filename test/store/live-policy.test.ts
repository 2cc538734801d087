// The unblock overlay the proxy reads: rebuilt on change, on a new base snapshot, and when the
// store cannot be read at that moment (busy), the unblocks last read stay in force.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { decide } from '../../src/policy/decide.js';
import type { Unblock } from '../../src/policy/types.js';
import { LivePolicy } from '../../src/store/live-policy.js';
import { classifierFor, CONFIG_DIR } from '../helpers/policy.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir();
const config = loadConfig(join(CONFIG_DIR, 'default.yaml'));
const classifier = classifierFor(tmp.dir);
const unblock = (id: string, site: string): Unblock => ({ id, site, target: { kind: 'group', group: 'ks2' }, from: new Date('2026-11-23T09:00:00Z'), until: new Date('2026-11-23T12:00:00Z'), approvedBy: 'it.tech', reason: 'lesson' });
const at = new Date('2026-11-23T10:00:00Z');

describe('LivePolicy', () => {
  it('keeps the unblocks last read when the store is busy, over a new base too; one bad unblock is left out alone', () => {
    let rows: Unblock[] = [unblock('1', 'bet.example.test'), unblock('2', 'not a site/')];
    let busy = false;
    const base = { classifier, config };
    const live = new LivePolicy(base, { inForce: () => { if (busy) throw new Error('SQLITE_BUSY'); return rows; } }, { now: () => at });
    const action = (): string => decide({ group: 'ks2' }, classifier.classify('http://bet.example.test/'), live.config.policy, at).action;
    expect(action()).toBe('allow');
    busy = true;
    rows = [];
    live.refresh();
    expect(action()).toBe('allow');
    // A reload brings a new base while the store is still busy.
    (base as { config: typeof config }).config = { ...config };
    expect(action()).toBe('allow');
    busy = false;
    live.refresh();
    expect(action()).toBe('block');
  });
});
