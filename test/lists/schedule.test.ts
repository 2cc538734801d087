// nextRun() decides when each downloaded source is refreshed; Scheduler calls back on it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FIRST_RUN_DELAY_MS, jitterMs, MAX_JITTER_MS, nextRun, Scheduler, retryAt } from '../../src/lists/schedule.js';

const DAY = 24 * 3600_000;
const nightly = { everyMs: DAY, label: 'nightly' };
const now = new Date('2025-03-10T12:00:00Z');
const at = (ms: number): Date => new Date(now.getTime() + ms);

describe('nextRun', () => {
  it('runs a never-fetched source soon after start, not at once', () => {
    const t = nextRun(nightly, null, now, 'ut1').getTime() - now.getTime();
    expect(t).toBeGreaterThanOrEqual(FIRST_RUN_DELAY_MS);
    expect(t).toBeLessThan(2 * FIRST_RUN_DELAY_MS);
  });

  it('runs an overdue source soon after start, the same way', () => {
    const overdue = at(-3 * DAY);
    expect(nextRun(nightly, overdue, now, 'ut1')).toEqual(nextRun(nightly, null, now, 'ut1'));
  });

  it('otherwise runs one period after the last run, plus the source\'s jitter', () => {
    const last = at(-2 * 3600_000);
    expect(nextRun(nightly, last, now, 'ut1')).toEqual(new Date(last.getTime() + DAY + jitterMs('ut1', DAY)));
  });

  it('does not postpone beyond one period when the last run is in the future (clock set back)', () => {
    const t = nextRun(nightly, at(5 * DAY), now, 'ut1');
    expect(t).toEqual(at(DAY + jitterMs('ut1', DAY)));
  });

  it('keeps jitter within min(period / 10, 15 min), stable per name, and different between names', () => {
    const namesList = Array.from({ length: 200 }, (_, i) => `source-${i}`);
    for (const everyMs of [60_000, 3600_000, DAY, 7 * DAY]) {
      const bound = Math.min(everyMs / 10, MAX_JITTER_MS);
      for (const name of namesList) {
        const j = jitterMs(name, everyMs);
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).toBeLessThan(bound);
        expect(jitterMs(name, everyMs)).toBe(j);
      }
    }
    const spread = new Set(namesList.map((name) => jitterMs(name, DAY)));
    expect(spread.size).toBeGreaterThan(150);
    // The start-up delay is spread by name too.
    const starts = new Set(namesList.map((name) => nextRun(nightly, null, now, name).getTime()));
    expect(starts.size).toBeGreaterThan(150);
  });
});

// The Scheduler's timers and clock are faked: the tests move time on by exactly as much as a
// step needs, so a slow machine changes nothing, and "nothing more runs" is seen after moving
// the clock far on rather than after a real wait.
describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls back per source on its schedule, one at a time, and stops', async () => {
    const calls: string[] = [];
    let running = 0;
    let overlapped = false;
    let resolveThree: () => void = () => {};
    const three = new Promise<void>((resolve) => { resolveThree = resolve; });
    const every = { everyMs: 200, label: '200ms' };
    // Just run: next due one short period on (an overdue source would wait the minute-long start delay).
    const scheduler = new Scheduler(
      [{ name: 'a', refresh: every, lastRunAt: new Date() }, { name: 'b', refresh: every, lastRunAt: new Date() }],
      async (name) => {
        running++;
        overlapped ||= running > 1;
        calls.push(name);
        // A run takes a while (5 ms of the fake clock), so an overlapping one would be seen.
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (calls.length === 3) resolveThree();
        if (name === 'b') throw new Error('a failing run does not stop the schedule');
      },
      { now: () => new Date(), onError: () => {} },
    );
    scheduler.start();
    expect(scheduler.nextRunOf('a')).toBeInstanceOf(Date);
    // Both fall due together at 200 ms (plus jitter below 20 ms): one runs, then the other.
    await vi.advanceTimersByTimeAsync(250);
    expect(calls.length).toBe(2);
    expect(new Set(calls)).toEqual(new Set(['a', 'b']));
    // ...and again one period on.
    await vi.advanceTimersByTimeAsync(200);
    await three;
    await scheduler.stop();
    const seen = calls.length;
    expect(overlapped).toBe(false);
    expect(scheduler.nextRunOf('a')).toBeUndefined();
    // Nothing more is called once stopped: no timer is left, and ten periods on nothing ran.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * every.everyMs);
    expect(calls.length).toBe(seen);
  });

  it('reports a throwing run to onError and keeps going', async () => {
    const errors: string[] = [];
    let resolveTwo: () => void = () => {};
    const two = new Promise<void>((resolve) => { resolveTwo = resolve; });
    const scheduler = new Scheduler(
      [{ name: 'flaky', refresh: { everyMs: 100, label: '100ms' }, lastRunAt: new Date() }],
      () => { throw new Error('boom'); },
      { now: () => new Date(), onError: (name, err) => { errors.push(`${name}: ${(err as Error).message}`); if (errors.length === 2) resolveTwo(); } },
    );
    scheduler.start();
    // A failed run is retried a quarter of the period (25 ms) on, plus a little spread.
    await vi.advanceTimersByTimeAsync(100 + 10 + 25 + 3);
    await two;
    await scheduler.stop();
    expect(errors).toEqual(['flaky: boom', 'flaky: boom']);
  });

  it('retries a failed run sooner than a successful one is repeated', async () => {
    const period = { everyMs: 400, label: '400ms' };
    let after: () => void = () => {};
    let ranAt = 0;
    const ran = new Promise<void>((resolve) => { after = resolve; });
    const scheduler = new Scheduler(
      [{ name: 'iwf', refresh: period, lastRunAt: new Date(Date.now() - 380) }],
      () => { ranAt = Date.now(); setImmediate(after); return false; },
      { now: () => new Date() },
    );
    scheduler.start();
    // Due 20 ms on, plus jitter below 40 ms.
    await vi.advanceTimersByTimeAsync(60);
    await ran;
    const next = scheduler.nextRunOf('iwf')!.getTime() - ranAt;
    await scheduler.stop();
    // A success would be planned a whole period (400 ms) after the run; a failure a quarter of
    // it. The clock is fake, so this is exact however slowly the machine ran.
    expect(next).toBe(retryAt(period, new Date(ranAt), 'iwf').getTime() - ranAt);
    expect(next).toBeLessThan(period.everyMs * 0.25 * 1.1 + 1);
  });
});

describe('retryAt', () => {
  it.each([
    ['twice-daily', 12 * 3_600_000, 60 * 60_000],
    ['hourly', 3_600_000, 15 * 60_000],
    ['nightly', 24 * 3_600_000, 60 * 60_000],
  ])('%s retries within %d ms of the failure', (label, everyMs, wait) => {
    const failedAt = new Date('2026-11-22T10:00:00Z');
    const at = retryAt({ everyMs, label }, failedAt, 'iwf').getTime() - failedAt.getTime();
    expect(at).toBeGreaterThanOrEqual(wait);
    expect(at).toBeLessThan(wait * 1.1);
    expect(retryAt({ everyMs, label }, failedAt, 'iwf').getTime()).toBe(at + failedAt.getTime());
  });
});
