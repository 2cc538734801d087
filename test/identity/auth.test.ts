import { describe, expect, it } from 'vitest';
import { Authenticator, parseBasic, type VerifyResult } from '../../src/identity/auth.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function setup() {
  let t = 1_000_000;
  const calls: string[] = [];
  const auth = new Authenticator({
    now: () => t,
    verify: async (u, p): Promise<VerifyResult> => {
      calls.push(u);
      if (u === 'teacher' && p === 'correct horse') return { ok: true, user: { username: 'teacher', group: 'staff' } };
      return u === 'pupil' && p === 'pupil password' ? { ok: true, user: { username: 'pupil', group: 'ks2' } } : { ok: false, reason: 'wrong-password' };
    },
  });
  return { auth, calls, advance: (ms: number) => (t += ms) };
}

describe('parseBasic', () => {
  it.each([
    [basic('a', 'b'), { username: 'a', password: 'b' }],
    [basic('a', 'pass:with:colons'), { username: 'a', password: 'pass:with:colons' }],
    [`basic ${Buffer.from('ü:ß').toString('base64')}`, { username: 'ü', password: 'ß' }],
    [undefined, null], ['', null], ['Bearer abc', null], [`Basic ${Buffer.from('nocolon').toString('base64')}`, null],
    [`Basic ${Buffer.from(':nouser').toString('base64')}`, null], ['Basic !!!', null],
  ])('%j', (header, want) => {
    expect(parseBasic(header)).toEqual(want);
  });
});

describe('Authenticator', () => {
  it('verifies once and remembers the header for a while', async () => {
    const { auth, calls, advance } = setup();
    const h = basic('teacher', 'correct horse');
    for (let i = 0; i < 80; i++) expect(await auth.check('10.0.0.1', h)).toEqual({ kind: 'ok', user: { username: 'teacher', group: 'staff' } });
    expect(calls.length).toBe(1);
    advance(6 * 60_000);
    await auth.check('10.0.0.1', h);
    expect(calls.length).toBe(2);
    auth.forget();
    await auth.check('10.0.0.1', h);
    expect(calls.length).toBe(3);
  });

  it('asks for credentials when there are none, and slows then locks out repeated failures', async () => {
    const { auth, advance } = setup();
    expect(await auth.check('10.0.0.2', undefined)).toMatchObject({ kind: 'challenge', delayMs: 0 });
    const wrong = basic('teacher', 'guess');
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const out = await auth.check('10.0.0.2', wrong);
      expect(out.kind).toBe('challenge');
      delays.push(out.kind === 'challenge' ? out.delayMs : -1);
    }
    expect(delays).toEqual([0, 0, 250, 500, 750, 1000, 1250, 1500, 1750]);
    expect(await auth.check('10.0.0.2', wrong)).toEqual({ kind: 'locked', retryAfterS: 900 });
    // Locked out even with the right password, until the lockout ends; other addresses unaffected.
    expect((await auth.check('10.0.0.2', basic('teacher', 'correct horse'))).kind).toBe('locked');
    expect((await auth.check('10.0.0.3', basic('teacher', 'correct horse'))).kind).toBe('ok');
    advance(15 * 60_000);
    expect((await auth.check('10.0.0.2', basic('teacher', 'correct horse'))).kind).toBe('ok');
  });

  it('forgets old failures after the window', async () => {
    const { auth, advance } = setup();
    for (let i = 0; i < 9; i++) await auth.check('10.0.0.4', basic('x', 'y'));
    advance(6 * 60_000);
    expect(await auth.check('10.0.0.4', basic('x', 'y'))).toMatchObject({ kind: 'challenge', delayMs: 0 });
  });

  it('keeps failures from many devices bounded: expired ones are dropped, locked ones kept', async () => {
    const { auth, advance } = setup();
    for (let i = 0; i < 11; i++) await auth.check('10.9.9.9', basic('x', 'y'));
    for (let i = 0; i < 10_000; i++) await auth.check(`10.1.${i >> 8}.${i & 255}`, basic('x', 'y'));
    // Each failure is on record twice: for the device and account, and for the device.
    expect(auth.trackedAddresses).toBe(20_002);
    advance(6 * 60_000);
    await auth.check('10.2.0.1', basic('x', 'y'));
    // The 10,000 single failures have expired; the locked account on that device is still locked.
    expect(auth.trackedAddresses).toBe(3);
    expect((await auth.check('10.9.9.9', basic('x', 'y'))).kind).toBe('locked');
  });

  it('does not let a person clear their guesses at someone else\'s password by signing in as themselves', async () => {
    const { auth } = setup();
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 9; i++) outcomes.push((await auth.check('10.0.0.8', basic('teacher', `guess ${round}.${i}`))).kind);
      expect((await auth.check('10.0.0.8', basic('pupil', 'pupil password'))).kind).toBe('ok');
    }
    // The tenth guess at the teacher's password is refused, whatever happened in between.
    expect(outcomes.slice(0, 9).every((k) => k === 'challenge')).toBe(true);
    expect(outcomes[9]).toBe('locked');
  });

  it('counts guesses sent all at once, before the slow check', async () => {
    const { auth, calls } = setup();
    const guesses = Array.from({ length: 200 }, (_, i) => (i === 150 ? 'correct horse' : `guess${i}`));
    const outcomes = await Promise.all(guesses.map((g) => auth.check('10.0.0.6', basic('teacher', g))));
    expect(calls.length).toBe(10);
    expect(outcomes[150]!.kind).toBe('locked');
    expect(outcomes.filter((o) => o.kind === 'ok')).toEqual([]);
  });

  it('checks a page\'s first 80 requests with the same credentials once, and locks no one out', async () => {
    const { auth, calls } = setup();
    const outcomes = await Promise.all(Array.from({ length: 80 }, () => auth.check('10.0.0.7', basic('teacher', 'correct horse'))));
    expect(calls.length).toBe(1);
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
  });
});
