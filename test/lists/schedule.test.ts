// nextRun() decides when each downloaded source is refreshed; Scheduler calls back on it.
import { describe, expect, it } from 'vitest';
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

describe('Scheduler', () => {
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
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (calls.length === 3) resolveThree();
        if (name === 'b') throw new Error('a failing run does not stop the schedule');
      },
      { now: () => new Date(), onError: () => {} },
    );
    scheduler.start();
    expect(scheduler.nextRunOf('a')).toBeInstanceOf(Date);
    await three;
    await scheduler.stop();
    const seen = calls.length;
    expect(new Set(calls)).toEqual(new Set(['a', 'b']));
    expect(overlapped).toBe(false);
    expect(scheduler.nextRunOf('a')).toBeUndefined();
    // Nothing more is called once stopped.
    await new Promise((r) => setTimeout(r, 400));
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
    await two;
    await scheduler.stop();
    expect(errors.slice(0, 2)).toEqual(['flaky: boom', 'flaky: boom']);
  });

  it('retries a failed run sooner than a successful one is repeated', async () => {
    const period = { everyMs: 400, label: '400ms' };
    let after: () => void = () => {};
    const ran = new Promise<void>((resolve) => { after = resolve; });
    const scheduler = new Scheduler(
      [{ name: 'iwf', refresh: period, lastRunAt: new Date(Date.now() - 380) }],
      () => { setImmediate(after); return false; },
      { now: () => new Date() },
    );
    scheduler.start();
    await ran;
    const next = scheduler.nextRunOf('iwf')!.getTime() - Date.now();
    await scheduler.stop();
    // A success would be planned a whole period (400 ms) on; a failure a quarter of it.
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
