// Schedules are checked in the school's wall-clock time; these tables pin down the edges a
// technician would notice: window ends, midnight, the clocks changing, other zones, and typos.
import { describe, expect, it } from 'vitest';
import { inWindow, type LocalTime, nextChange, parseWindow, SchoolClock, type TimeWindow } from '../../src/policy/time.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const utc = (iso: string): number => Date.parse(iso.endsWith('Z') ? iso : `${iso}Z`);

function win(days: string, from: string, to: string): TimeWindow {
  const w = parseWindow(days, from, to);
  if ('error' in w) throw new Error(`${days} ${from}-${to}: ${w.error}`);
  return w;
}

function dayNames(mask: number): string {
  return DAYS.filter((_, d) => (mask >> d) & 1).join(',');
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An independent local-time computation: another locale, another format, no memo. */
function reference(timeZone: string, ms: number): LocalTime {
  const [date = '', hm = ''] = new Intl.DateTimeFormat('sv-SE', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(ms).split(' ');
  const weekday = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long' }).format(ms);
  const [h = NaN, m = NaN] = hm.split(':').map(Number);
  return { day: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].indexOf(weekday), minute: h * 60 + m, date };
}

describe('parseWindow: days', () => {
  it.each([
    ['mon', 'mon'],
    ['fri', 'fri'],
    ['mon-fri', 'mon,tue,wed,thu,fri'],
    ['sat,sun', 'sat,sun'],
    ['mon,wed-fri', 'mon,wed,thu,fri'],
    ['every day', 'mon,tue,wed,thu,fri,sat,sun'],
    ['Every  Day', 'mon,tue,wed,thu,fri,sat,sun'],
    ['everyday', 'mon,tue,wed,thu,fri,sat,sun'],
    ['daily', 'mon,tue,wed,thu,fri,sat,sun'],
    ['weekdays', 'mon,tue,wed,thu,fri'],
    ['weekends', 'sat,sun'],
    ['weekends,wed', 'wed,sat,sun'],
    ['Mon - Fri', 'mon,tue,wed,thu,fri'],
    ['mon–fri', 'mon,tue,wed,thu,fri'],
    ['mon, tue ,thu', 'mon,tue,thu'],
    ['Monday-Wednesday', 'mon,tue,wed'],
    ['tues,thurs', 'tue,thu'],
    ['fri-mon', 'mon,fri,sat,sun'],
    ['sun-sun', 'sun'],
    ['mon,mon-tue', 'mon,tue'],
    ['  sat  ', 'sat'],
  ])('%j → %s', (days, expected) => {
    expect(dayNames(win(days, '12:00', '13:00').days)).toBe(expected);
  });
});

describe('parseWindow: times', () => {
  it.each([
    ['00:00', '24:00', 0, 1440],
    ['12:00', '13:00', 720, 780],
    ['14:30', '15:15', 870, 915],
    ['9:05', '09:06', 545, 546],
    ['23:59', '24:00', 1439, 1440],
    ['22:00', '06:00', 1320, 360],
    ['22:00', '00:00', 1320, 0],
    [' 08:45 ', '15:15', 525, 915],
  ])('%s-%s → %i..%i', (from, to, f, t) => {
    const w = win('mon', from, to);
    expect([w.from, w.to]).toEqual([f, t]);
  });

  it('keeps the text as written, for explanations', () => {
    expect(win('mon-fri', '12:00', '13:00').text).toBe('mon-fri 12:00-13:00');
    expect(win(' Sat,  Sun ', ' 9:30', '10:00 ').text).toBe('Sat, Sun 9:30-10:00');
  });
});

describe('parseWindow: mistakes say what is wrong and how to write it', () => {
  it.each([
    // days, from, to, error matches, fix matches
    ['mon-funday', '12:00', '13:00', /"funday" in "mon-funday" is not a day/, /mon, tue, wed, thu, fri, sat, sun.*"mon-fri"/],
    ['frday', '12:00', '13:00', /"frday" is not a day/, /did you mean "fri"\?/],
    ['thirsday', '12:00', '13:00', /"thirsday" is not a day/, /did you mean "thu"\?/],
    ['', '12:00', '13:00', /no days given/, /"every day"/],
    ['   ', '12:00', '13:00', /no days given/, /"weekdays"/],
    ['mon,,tue', '12:00', '13:00', /empty item between commas/, /"sat,sun"/],
    ['mon,', '12:00', '13:00', /empty item/, /mon, tue/],
    ['mon-', '12:00', '13:00', /"mon-" is not a day range/, /first-last, e\.g\. "mon-fri"/],
    ['mon-wed-fri', '12:00', '13:00', /"mon-wed-fri" is not a day range/, /"mon-fri"/],
    ['weekdays-sun', '12:00', '13:00', /"weekdays" in "weekdays-sun" is not a day/, /mon, tue/],
    ['mon wed', '12:00', '13:00', /"mon wed" is not a day/, /"mon,wed-fri"/],
    ['mon', '25:00', '26:00', /start time "25:00" has hour 25, but hours run 00 to 23/, /HH:MM.*"24:00"/],
    ['mon', '12:00', '24:01', /end time "24:01" has hour 24/, /HH:MM/],
    ['mon', '12:60', '13:30', /start time "12:60" has minute 60, but minutes run 00 to 59/, /write "13:00"/],
    ['mon', '23:99', '23:30', /minute 99/, /HH:MM/],
    ['mon', '9:5', '10:00', /start time "9:5" is not in HH:MM form/, /write it as "09:05" \(24-hour clock, two-digit minutes\)/],
    ['mon', '12.30', '13:00', /"12.30" is not in HH:MM form/, /"12:30"/],
    ['mon', '1230', '13:00', /"1230" is not in HH:MM form/, /"12:30"/],
    ['mon', '12:00', '2pm', /end time "2pm" is not in HH:MM form/, /"14:00"/],
    ['mon', '12am', '13:00', /"12am"/, /"00:00"/],
    ['mon', 'noon', '13:00', /"noon" is not in HH:MM form/, /24-hour time as HH:MM, e\.g\. "08:45"/],
    ['mon', '012:00', '13:00', /not in HH:MM form/, /HH:MM/],
    ['mon', '', '13:00', /no start time given/, /HH:MM/],
    ['mon', '12:00', '', /no end time given/, /HH:MM/],
    ['mon', '24:00', '01:00', /start time "24:00" is the end of the day/, /starts at "00:00"/],
    ['mon', '12:00', '12:00', /both 12:00/, /00:00-24:00/],
    ['mon', '00:00', '00:00', /both 00:00/, /00:00-24:00/],
  ])('%j %j-%j', (days, from, to, error, fix) => {
    const r = parseWindow(days, from, to);
    expect(r).toMatchObject({ error: expect.stringMatching(error), fix: expect.stringMatching(fix) });
    expect(['days', 'from', 'to']).toContain((r as { field?: string }).field);
  });
});

describe('parseWindow names the value at fault', () => {
  it.each([
    ['funday', '12:00', '13:00', 'days'], ['mon', '25:00', '26:00', 'from'], ['mon', '12:00', '2pm', 'to'], ['mon', '', '13:00', 'from'],
  ])('%j %j-%j: %s', (days, from, to, field) => {
    expect(parseWindow(days, from, to)).toMatchObject({ field });
  });
});

describe('inWindow on local times', () => {
  const lunch = win('mon-fri', '12:00', '13:00');
  const lateSat = win('sat', '22:00', '24:00');
  const overnight = win('fri', '22:00', '06:00');
  const sundayNight = win('sun', '23:00', '01:00');
  const toMidnight = win('fri', '22:00', '00:00');
  const allDay = win('weekdays', '00:00', '24:00');
  const at = (day: string, hm: string): LocalTime => {
    const [h = 0, m = 0] = hm.split(':').map(Number);
    return { day: DAYS.indexOf(day), minute: h * 60 + m, date: '' };
  };
  it.each([
    [lunch, 'mon', '11:59', false],
    [lunch, 'mon', '12:00', true], // the start minute is inside
    [lunch, 'wed', '12:30', true],
    [lunch, 'fri', '12:59', true],
    [lunch, 'fri', '13:00', false], // the end minute is outside
    [lunch, 'sat', '12:30', false],
    [lunch, 'sun', '12:00', false],
    [lateSat, 'sat', '21:59', false],
    [lateSat, 'sat', '22:00', true],
    [lateSat, 'sat', '23:59', true], // 24:00 covers the last minute
    [lateSat, 'sun', '00:00', false],
    [lateSat, 'fri', '23:00', false],
    [overnight, 'fri', '21:59', false],
    [overnight, 'fri', '22:00', true],
    [overnight, 'fri', '23:30', true],
    [overnight, 'fri', '23:59', true],
    [overnight, 'sat', '00:00', true],
    [overnight, 'sat', '05:59', true],
    [overnight, 'sat', '06:00', false],
    [overnight, 'sat', '23:30', false], // the mask names the starting day only
    [overnight, 'fri', '05:00', false], // Thursday night is not in the window
    [overnight, 'thu', '23:00', false],
    [sundayNight, 'sun', '23:30', true],
    [sundayNight, 'mon', '00:30', true], // wraps from Sunday (6) into Monday (0)
    [sundayNight, 'mon', '01:00', false],
    [sundayNight, 'sun', '00:30', false],
    [toMidnight, 'fri', '23:59', true],
    [toMidnight, 'sat', '00:00', false],
    [allDay, 'mon', '00:00', true],
    [allDay, 'fri', '23:59', true],
    [allDay, 'sat', '00:00', false],
  ])('%o at %s %s → %s', (w, day, hm, expected) => {
    expect(inWindow(w, at(day, hm))).toBe(expected);
  });
});

describe('SchoolClock.local', () => {
  // Expected values from the system tz database (`TZ=… date`), not from Intl.
  it.each([
    ['Europe/London', '2026-01-01T00:00', '2026-01-01', 'thu', '00:00'], // midnight
    ['Europe/London', '2025-12-31T23:59:59.999', '2025-12-31', 'wed', '23:59'],
    ['Europe/London', '2026-06-30T23:00', '2026-07-01', 'wed', '00:00'], // midnight in summer is 23:00 UTC
    ['Europe/London', '2026-06-30T22:59', '2026-06-30', 'tue', '23:59'],
    ['Europe/London', '2026-03-29T00:59', '2026-03-29', 'sun', '00:59'],
    ['Europe/London', '2026-03-29T01:00', '2026-03-29', 'sun', '02:00'], // clocks go forward: 01:xx never happens
    ['Europe/London', '2026-10-25T00:30', '2026-10-25', 'sun', '01:30'], // first 01:30 (BST)
    ['Europe/London', '2026-10-25T01:30', '2026-10-25', 'sun', '01:30'], // second 01:30 (GMT)
    ['Europe/London', '2026-10-25T00:59', '2026-10-25', 'sun', '01:59'],
    ['Europe/London', '2026-10-25T01:00', '2026-10-25', 'sun', '01:00'],
    ['Europe/London', '2026-06-15T11:00', '2026-06-15', 'mon', '12:00'],
    ['Europe/London', '2026-01-12T12:00', '2026-01-12', 'mon', '12:00'],
    ['America/New_York', '2026-03-08T06:59', '2026-03-08', 'sun', '01:59'],
    ['America/New_York', '2026-03-08T07:00', '2026-03-08', 'sun', '03:00'], // New York changes three weeks earlier
    ['America/New_York', '2026-11-01T05:30', '2026-11-01', 'sun', '01:30'],
    ['America/New_York', '2026-11-01T06:30', '2026-11-01', 'sun', '01:30'],
    ['America/New_York', '2026-01-01T00:00', '2025-12-31', 'wed', '19:00'],
    ['Asia/Kolkata', '2026-01-11T18:29', '2026-01-11', 'sun', '23:59'], // +05:30
    ['Asia/Kolkata', '2026-01-11T18:30', '2026-01-12', 'mon', '00:00'],
    ['Asia/Kolkata', '2026-03-29T01:00', '2026-03-29', 'sun', '06:30'],
    ['Asia/Kathmandu', '2026-01-11T18:30', '2026-01-12', 'mon', '00:15'], // +05:45
    ['Australia/Sydney', '2026-04-04T15:59', '2026-04-05', 'sun', '02:59'], // southern hemisphere, clocks go back
    ['Australia/Sydney', '2026-04-04T16:00', '2026-04-05', 'sun', '02:00'],
  ])('%s %s → %s %s %s', (zone, iso, date, day, hm) => {
    const [h = 0, m = 0] = hm.split(':').map(Number);
    const expected = { date, day: DAYS.indexOf(day), minute: h * 60 + m };
    expect(new SchoolClock(zone).local(utc(iso))).toEqual(expected);
    expect(new SchoolClock(zone).local(new Date(utc(iso)))).toEqual(expected);
  });

  it('drops seconds by flooring, also before 1970', () => {
    const clock = new SchoolClock('UTC');
    expect(clock.local(-1)).toEqual({ date: '1969-12-31', day: 2, minute: 1439 });
    expect(clock.local(59_999)).toEqual({ date: '1970-01-01', day: 3, minute: 0 });
  });

  it('rejects unknown zones with a RangeError naming the fix', () => {
    for (const zone of ['Mars/Olympus', 'Europe/Londn', '', ' ', 'GMT+25']) {
      expect(() => new SchoolClock(zone)).toThrow(RangeError);
    }
    expect(() => new SchoolClock('Europe/Londn')).toThrow(/"Europe\/Londn" is not a time zone; use an IANA name such as Europe\/London/);
    expect(() => new SchoolClock(undefined as unknown as string)).toThrow(RangeError);
  });

  it('stores the canonical zone name', () => {
    expect(new SchoolClock('Europe/London').timeZone).toBe('Europe/London');
    expect(new SchoolClock('europe/london').timeZone).toBe('Europe/London');
  });

  it('rejects an invalid instant', () => {
    expect(() => new SchoolClock('Europe/London').local(new Date('nonsense'))).toThrow(RangeError);
    expect(() => new SchoolClock('Europe/London').local(NaN)).toThrow(RangeError);
  });

  it('memoised answers equal fresh ones, for random, repeated and same-minute instants', () => {
    const next = random(20260329);
    const zones = ['Europe/London', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
    const from = utc('1950-01-01T00:00');
    const span = utc('2100-01-01T00:00') - from;
    for (const zone of zones) {
      const clock = new SchoolClock(zone); // one clock, so its memo is in play throughout
      let last = from + Math.floor(next() * span);
      for (let i = 0; i < 400; i++) {
        const r = next();
        // Mix far jumps, the same minute again (a memo hit), the next minute, and near DST changes.
        const ms =
          r < 0.3 ? from + Math.floor(next() * span)
          : r < 0.55 ? Math.floor(last / 60_000) * 60_000 + Math.floor(next() * 60_000)
          : r < 0.75 ? last + 60_000
          : r < 0.9 ? utc(next() < 0.5 ? '2026-10-25T00:00' : '2026-03-29T00:00') + Math.floor(next() * 3 * 3_600_000)
          : last;
        last = ms;
        const got = clock.local(next() < 0.5 ? ms : new Date(ms));
        expect(got, `${zone} ${new Date(ms).toISOString()}`).toEqual(reference(zone, ms));
        expect(got).toEqual(new SchoolClock(zone).local(ms));
      }
    }
  });
});

describe('windows against real instants', () => {
  const london = new SchoolClock('Europe/London');
  const newYork = new SchoolClock('America/New_York');
  const kolkata = new SchoolClock('Asia/Kolkata');
  const lunch = win('mon-fri', '12:00', '13:00');
  const golden = win('fri', '14:30', '15:15');
  const overnight = win('fri', '22:00', '06:00');
  const earlySunday = win('sun', '01:00', '02:00');
  const lateSat = win('sat', '22:00', '24:00');
  it.each([
    // summer (BST): 12:00-13:00 local is 11:00-12:00 UTC
    [london, lunch, '2026-06-15T10:59', false],
    [london, lunch, '2026-06-15T11:00', true],
    [london, lunch, '2026-06-15T11:59:59', true],
    [london, lunch, '2026-06-15T12:00', false],
    // winter (GMT): 12:00-13:00 local is 12:00-13:00 UTC
    [london, lunch, '2026-01-12T11:59', false],
    [london, lunch, '2026-01-12T12:00', true],
    [london, lunch, '2026-01-12T12:59', true],
    [london, lunch, '2026-01-12T13:00', false],
    [london, lunch, '2026-06-20T11:30', false], // Saturday
    // the week either side of the spring change
    [london, lunch, '2026-03-27T12:30', true], // Fri, GMT
    [london, lunch, '2026-03-30T12:30', false], // Mon, BST: 13:30 local
    [london, lunch, '2026-03-30T11:30', true],
    [london, golden, '2026-03-27T14:30', true],
    [london, golden, '2026-04-03T13:30', true], // 14:30 BST
    [london, golden, '2026-04-03T14:14', true],
    [london, golden, '2026-04-03T14:15', false], // 15:15 BST
    [london, golden, '2026-04-03T14:30', false],
    // overnight, Friday into Saturday
    [london, overnight, '2026-01-16T21:59', false],
    [london, overnight, '2026-01-16T22:00', true],
    [london, overnight, '2026-01-16T23:30', true],
    [london, overnight, '2026-01-17T00:00', true],
    [london, overnight, '2026-01-17T05:59', true],
    [london, overnight, '2026-01-17T06:00', false],
    [london, overnight, '2026-01-16T05:00', false],
    [london, overnight, '2026-01-17T22:30', false],
    [london, overnight, '2026-06-19T21:00', true], // 22:00 BST
    [london, overnight, '2026-06-20T04:59', true], // 05:59 BST
    [london, overnight, '2026-06-20T05:00', false],
    // ending at 24:00 and midnight
    [london, lateSat, '2026-01-17T23:59', true],
    [london, lateSat, '2026-01-18T00:00', false],
    [london, lateSat, '2026-06-20T22:59', true], // 23:59 BST
    [london, lateSat, '2026-06-20T23:00', false], // 00:00 BST Sunday
    // the repeated hour: 01:00-01:59 local happens twice, and both count
    [london, earlySunday, '2026-10-24T23:59', false],
    [london, earlySunday, '2026-10-25T00:00', true], // 01:00 BST
    [london, earlySunday, '2026-10-25T00:30', true], // 01:30 BST
    [london, earlySunday, '2026-10-25T01:00', true], // 01:00 GMT
    [london, earlySunday, '2026-10-25T01:30', true], // 01:30 GMT
    [london, earlySunday, '2026-10-25T01:59', true],
    [london, earlySunday, '2026-10-25T02:00', false],
    // the skipped hour: 01:00 UTC is 02:00 BST
    [london, earlySunday, '2026-03-29T00:59', false],
    [london, earlySunday, '2026-03-29T01:00', false],
    [london, earlySunday, '2026-03-22T01:00', true], // a week before, it happens
    // New York: different dates, different offset
    [newYork, lunch, '2026-03-06T16:59', false], // Fri, EST
    [newYork, lunch, '2026-03-06T17:00', true],
    [newYork, lunch, '2026-03-09T16:00', true], // Mon, EDT, while London is still on GMT
    [newYork, lunch, '2026-03-09T17:00', false],
    [newYork, overnight, '2026-01-17T03:00', true], // Fri 22:00 EST
    [newYork, overnight, '2026-01-16T23:30', false], // Fri 18:30 EST
    // Kolkata: +05:30 all year
    [kolkata, lunch, '2026-01-12T06:29', false],
    [kolkata, lunch, '2026-01-12T06:30', true],
    [kolkata, lunch, '2026-06-15T07:29', true],
    [kolkata, lunch, '2026-06-15T07:30', false],
  ])('%#: %s', (clock, w, iso, expected) => {
    expect(inWindow(w, clock.local(utc(iso)))).toBe(expected);
  });

  it('a window in the skipped hour is never inside that night', () => {
    for (let ms = utc('2026-03-28T22:00'); ms < utc('2026-03-29T04:00'); ms += 60_000) {
      expect(inWindow(earlySunday, london.local(ms)), new Date(ms).toISOString()).toBe(false);
    }
  });

  it('a window in the repeated hour is inside for two real hours', () => {
    let minutes = 0;
    for (let ms = utc('2026-10-24T22:00'); ms < utc('2026-10-25T04:00'); ms += 60_000) {
      if (inWindow(earlySunday, london.local(ms))) minutes++;
    }
    expect(minutes).toBe(120);
  });
});

describe('nextChange', () => {
  const london = new SchoolClock('Europe/London');
  const lunch = win('mon-fri', '12:00', '13:00');
  it.each([
    ['lunch, Monday morning', [lunch], '2026-01-12T09:17:42', '2026-01-12T12:00'],
    ['lunch, at its start', [lunch], '2026-01-12T12:00', '2026-01-12T13:00'],
    ['lunch, inside', [lunch], '2026-01-12T12:59:59', '2026-01-12T13:00'],
    ['lunch, Friday afternoon', [lunch], '2026-01-16T13:00', '2026-01-19T12:00'],
    ['lunch, summer', [lunch], '2026-06-15T09:00', '2026-06-15T11:00'],
    ['two windows, nearer wins', [lunch, win('mon', '10:00', '10:30')], '2026-01-12T09:00', '2026-01-12T10:00'],
    ['overnight end', [win('fri', '22:00', '06:00')], '2026-01-17T01:00', '2026-01-17T06:00'],
    ['24:00 end', [win('sat', '22:00', '24:00')], '2026-01-17T22:10', '2026-01-18T00:00'],
    // spring forward: stop at the change, then the boundary in the new offset
    ['before the skipped hour', [win('sun', '03:00', '04:00')], '2026-03-29T00:30', '2026-03-29T01:00'],
    ['after the skipped hour', [win('sun', '03:00', '04:00')], '2026-03-29T01:00', '2026-03-29T02:00'],
    // fall back: inside the first 01:xx, the window goes on through the second
    ['first 01:30', [win('sun', '01:00', '02:00')], '2026-10-25T00:30', '2026-10-25T01:00'],
    ['second 01:00', [win('sun', '01:00', '02:00')], '2026-10-25T01:00', '2026-10-25T02:00'],
  ])('%s', (_, windows, now, expected) => {
    expect(nextChange(windows, london, utc(now))).toBe(utc(expected));
  });

  it('never, without windows or days', () => {
    expect(nextChange([], london, utc('2026-01-12T09:00'))).toBe(Infinity);
    expect(nextChange([{ days: 0, from: 60, to: 120, text: '' }], london, utc('2026-01-12T09:00'))).toBe(Infinity);
  });

  it('nothing changes before the minute it names', () => {
    const next = random(7);
    const zones = [london, new SchoolClock('America/New_York'), new SchoolClock('Asia/Kolkata')];
    const starts = ['2026-03-28T20:00', '2026-10-24T20:00', '2026-03-07T20:00', '2026-10-31T20:00', '2026-05-13T08:00'];
    for (let i = 0; i < 30; i++) {
      const clock = zones[i % zones.length] ?? london;
      const windows = Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({
        days: 1 + Math.floor(next() * 127),
        from: Math.floor(next() * 1440),
        to: 1 + Math.floor(next() * 1440),
        text: '',
      }));
      const now = utc(starts[i % starts.length] ?? '') + Math.floor(next() * 8 * 3_600_000);
      const state = (ms: number) => windows.map((w) => inWindow(w, clock.local(ms))).join();
      const before = state(now);
      const change = nextChange(windows, clock, now);
      expect(change).toBeGreaterThan(now);
      for (let ms = Math.floor(now / 60_000) * 60_000; ms < change; ms += 60_000) {
        expect(state(ms), `${clock.timeZone} ${new Date(ms).toISOString()}`).toBe(before);
      }
    }
  });
});
