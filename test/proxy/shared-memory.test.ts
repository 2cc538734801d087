// The memories proxy workers share (cluster/shared-memory.ts), linked here as the primary links
// them: each process's changes applied to the primary's copy and passed to the others, a new
// process started from the primary's copy. The copies then answer alike: a warn token signed in
// one is accepted in another, failed sign-ins count together, pinned-app failures from devices
// on different processes add up. Real classes, a moved clock; only the IPC channel is a function call.
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/identity/auth.js';
import { byName, proxyMemories, type ProxyMemories } from '../../src/proxy/cluster/memories.js';
import { applyState, stateOf } from '../../src/proxy/cluster/shared-memory.js';
import { TrafficIds, ID_SHIFT } from '../../src/store/traffic-entry.js';

const PINNING = { devices: 2, windowMs: 60_000, bypassMs: 600_000 };

/** A primary and its processes, passing changes as the IPC channel would (in order, at once). */
function cluster(now: () => number) {
  const auth = (): Authenticator => new Authenticator({
    now, verify: async (username, password) => (password === 'right' ? { ok: true, user: { username, group: 'ks2' } } : { ok: false, reason: 'wrong password' }),
  });
  const primary = proxyMemories(auth(), () => PINNING);
  const processes: ProxyMemories[] = [];
  const join = (): ProxyMemories => {
    const m = proxyMemories(auth(), () => PINNING);
    applyState(byName(m), stateOf(byName(primary)));
    for (const [name, memory] of Object.entries(byName(m))) {
      memory.onChange((change) => {
        byName(primary)[name]!.apply(change);
        for (const other of processes) if (other !== m) byName(other)[name]!.apply(change);
      });
    }
    processes.push(m);
    return m;
  };
  return { primary, join };
}

describe('memories shared between proxy processes', () => {
  it('a warn token signed in one process is accepted in another, and the continue is seen by all, a later one included', () => {
    const t = 1_000_000;
    const c = cluster(() => t);
    const [a, b] = [c.join(), c.join()];
    const token = a.warned.token('127.0.1.7', 'games.example', t);
    expect(b.warned.continued('127.0.1.7', 'games.example', t)).toBe(false);
    expect(b.warned.accept(token, '127.0.1.7', 'games.example', 600_000, t)).toBe(true);
    expect(a.warned.continued('127.0.1.7', 'games.example', t + 1)).toBe(true);
    expect(c.join().warned.continued('127.0.1.7', 'games.example', t + 2)).toBe(true);
    // Bound to its person and site in every process.
    expect(a.warned.accept(token, '127.0.1.8', 'games.example', 600_000, t)).toBe(false);
  });

  it('failed sign-ins from one device count together towards its lock-out, and a new process starts locked too', async () => {
    let t = 5_000_000;
    const c = cluster(() => t);
    const procs = [c.join(), c.join()];
    const header = (password: string): string => `Basic ${Buffer.from(`amy:${password}`).toString('base64')}`;
    const kinds: string[] = [];
    for (let i = 0; i < 10; i++) {
      kinds.push((await procs[i % 2]!.auth.check('127.0.2.9', header(`wrong ${i}`))).kind);
      t += 1_000;
    }
    // Five in each process: the tenth, counted across both, locks the account.
    expect(kinds).toEqual([...Array(9).fill('challenge'), 'locked']);
    for (const p of [...procs, c.join()]) expect((await p.auth.check('127.0.2.9', header('right'))).kind).toBe('locked');
    expect((await procs[0]!.auth.check('127.0.2.10', header('right'))).kind).toBe('ok');
  });

  it('a sign-in verified in one process is remembered by the others', async () => {
    const c = cluster(() => 9_000_000);
    let hashed = 0;
    const counting = new Authenticator({ now: () => 9_000_000, verify: async (username) => (hashed++, { ok: true, user: { username, group: 'staff' } }) });
    const [a] = [c.join()];
    // The second process verifies with a counter, so a remembered sign-in shows as no second check.
    applyState({ 'sign-in': counting }, { 'sign-in': stateOf(byName(c.primary))['sign-in']! });
    a.auth.onChange((change) => counting.apply(change));
    const header = `Basic ${Buffer.from('sam:right').toString('base64')}`;
    expect((await a.auth.check('127.0.2.11', header)).kind).toBe('ok');
    expect(await counting.check('127.0.2.11', header)).toMatchObject({ kind: 'ok', user: { username: 'sam', group: 'ks2' } });
    expect(hashed).toBe(0);
  });

  it('pinned-app failures from devices on different processes add up to a bypass in every one', () => {
    const t = 2_000_000;
    const c = cluster(() => t);
    const [a, b] = [c.join(), c.join()];
    expect(a.pinning.failed('app.example', '10.0.0.1', t)).toBe(false);
    expect(b.pinning.failed('app.example', '10.0.0.2', t + 10)).toBe(true);
    for (const p of [a, b, c.join()]) expect(p.pinning.isBypassed('app.example', t + 20)).toBe(true);
  });
});

describe('traffic ids made by several processes', () => {
  it('never collide: each makes those of its slot, in order, even many in one millisecond', () => {
    const at = 1_700_000_000_000;
    const made = [0, 1, 2].flatMap((slot) => {
      const ids = new TrafficIds(0, slot, 3);
      return Array.from({ length: 100 }, () => ids.next(at));
    });
    expect(new Set(made).size).toBe(300);
    expect(made.every((id, i) => id % 3 === Math.floor(i / 100) && id >= at * ID_SHIFT)).toBe(true);
  });
});
