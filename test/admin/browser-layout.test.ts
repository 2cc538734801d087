// The staff app's pages as people see them, in a real Chromium: the filter-level matrix (each
// cell's action by colour and word, categories under headings, what differs from the defaults,
// the header row kept in view, cards naming their group on a phone), the group page's schedules
// and every page within a 1,280 px screen and a phone's, the start page's title, the unblock
// form's group chosen on purpose, and no accessibility violations axe-core can find.
// SCREENSHOTS=DIR saves the matrix there (docs/screenshots in the repository).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionOf } from '../../src/admin/policy-edit.js';
import { tempDir } from '../helpers/lists.js';
import { startStaffApp, type StaffApp } from '../helpers/staff-app.js';
import { postForm } from './api-helpers.js';

const tmp = tempDir();
const shots = process.env.SCREENSHOTS;
let browser: Browser;
let app: StaffApp;
let technician: BrowserContext;
let teacher: BrowserContext;
let phone: BrowserContext;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** The colours of allow, warn and block cells (src/admin/matrix-style.ts). */
const COLOURS = { allow: 'rgb(227, 244, 232)', warn: 'rgb(255, 243, 204)', block: 'rgb(251, 227, 227)' };

async function signedIn(username: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  const session = await app.signIn(username);
  const context = await browser.newContext({ viewport });
  const [name, value] = session.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, url: app.url }]);
  return context;
}

beforeAll(async () => {
  app = await startStaffApp(tmp.dir, 'school:\n  name: Layout Test Primary\n  timezone: Europe/London\n');
  await app.addUser('it.tech', ['technician']);
  await app.addUser('t.teacher', ['teacher']);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  technician = await signedIn('it.tech', DESKTOP);
  teacher = await signedIn('t.teacher', DESKTOP);
  phone = await signedIn('it.tech', PHONE);
  if (shots) mkdirSync(shots, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  tmp.cleanup();
});

async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  const res = await page.goto(`${app.url}${path}`);
  expect(res?.status()).toBe(200);
  return page;
}

// Expressions run in the page are strings: the tests are compiled without the DOM's types.
/** How far the page is wider than its window (0: no sideways scrolling). */
const overflow = (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
const pageHeight = (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollHeight');
const scrollY = (page: Page): Promise<number> => page.evaluate<number>('window.scrollY');
const background = (page: Page, selector: string): Promise<string> => page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`);
/** The td holding a cell's drop-down (or, read-only, its words). */
const cell = (category: string, group: string): string => `td:has(> select[name="level.${group}.${category}"])`;

async function axe(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
}

describe('the start page', () => {
  it('is titled with the school\'s name once, and Schoolgate once', async () => {
    const page = await open(teacher, '/');
    expect(await page.title()).toBe('Layout Test Primary · Schoolgate');
    expect(await page.textContent('h1')).toBe('Layout Test Primary');
    await page.close();
  });
});

describe('the filter-level matrix', () => {
  it('shows each cell\'s action by colour and by word, and a new choice recolours its cell', async () => {
    const page = await open(technician, '/policy');
    const games = cell('games', 'ks2');
    expect(await page.locator(`${games} select option:checked`).textContent()).toBe('Block');
    expect(await background(page, games)).toBe(COLOURS.block);
    expect(await page.locator(`${cell('video-streaming', 'ks2')} select option:checked`).textContent()).toBe('Allow');
    expect(await background(page, cell('video-streaming', 'ks2'))).toBe(COLOURS.allow);
    expect(await page.locator(`${cell('games', 'staff')} select option:checked`).textContent()).toBe('Warn');
    expect(await background(page, cell('games', 'staff'))).toBe(COLOURS.warn);
    await page.selectOption(`select[name="level.ks2.games"]`, 'warn');
    expect(await background(page, games)).toBe(COLOURS.warn);
    // Illegal rows say so in words, with nothing to change.
    const iwf = page.locator('tbody.section-illegal tr:has(code:text-is("iwf")) td').first();
    expect(await iwf.textContent()).toContain('Block (locked)');
    await page.close();
  });

  it('groups the categories under headings, in order of how much they matter', async () => {
    const page = await open(technician, '/policy');
    expect(await page.locator('tr.section th').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent?.trim()))).toEqual(['Illegal', 'Safeguarding', 'Inappropriate', 'Distractions', 'Everything else']);
    const under = async (section: string): Promise<string[]> => page.locator(`tbody.section-${section} th[scope=row] code`).allTextContents();
    expect(await under('illegal')).toEqual(['iwf', 'terrorism']);
    expect(await under('safeguarding')).toEqual(expect.arrayContaining(['suicide', 'self-harm', 'grooming', 'bullying', 'adult', 'drugs']));
    expect(await under('inappropriate')).toEqual(expect.arrayContaining(['gambling', 'malware', 'filter-avoidance']));
    expect(await under('distraction')).toEqual(expect.arrayContaining(['games', 'shopping', 'social-networking']));
    expect(await under('other')).toEqual(expect.arrayContaining(['education', 'search-engines']));
    await page.close();
  });

  it('fits a 1,280 px screen, one short line per category, with the header row in view after scrolling', async () => {
    const page = await open(technician, '/policy');
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    const rows = await page.locator('.matrix th[scope=row]').count();
    expect(rows).toBeGreaterThan(50);
    // Two lines and a drop-down per category made the page about 66 px a category (4,400 px);
    // a category is one line now (two where a schedule changes it), headings and header included.
    const perRow = await page.locator('.matrix tbody tr:not(.section)').evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().height));
    expect(perRow.filter((h) => h > 40)).toHaveLength(await page.locator('.matrix tbody tr:has(td .note)').count());
    const height = (await page.locator('.matrix').boundingBox())!.height;
    expect(height / rows).toBeLessThan(42);
    if (shots) await page.screenshot({ path: join(shots, 'filter-levels.png') });

    // Far down the table, the group names are still at the top of the window.
    await page.locator('tbody.section-other tr').last().scrollIntoViewIfNeeded();
    expect(await scrollY(page)).toBeGreaterThan(1000);
    const header = page.locator('.matrix thead th', { hasText: 'KS2 pupils' });
    const box = (await header.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(5);
    expect(await page.evaluate<string | undefined>(`document.elementFromPoint(${box.x + box.width / 2}, ${box.y + box.height / 2})?.closest('th')?.textContent`)).toContain('KS2 pupils');
    await page.close();
  });

  it('on a phone, each cell names its group and each heading stays in view over its categories', async () => {
    const page = await open(phone, '/policy');
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    const games = page.locator(cell('games', 'ks2'));
    expect(await games.locator('.g').isVisible()).toBe(true);
    expect(await games.locator('.g').textContent()).toBe('KS2 pupils');
    // Cards: the group's name and the drop-down fit across the screen, nothing cut off.
    const select = (await games.locator('select').boundingBox())!;
    expect(select.x + select.width).toBeLessThanOrEqual(PHONE.width);
    if (shots) await page.screenshot({ path: join(shots, 'filter-levels-phone.png') });
    // Half way down the distractions, their heading is at the top of the screen.
    const rows = page.locator('tbody.section-distraction tr:not(.section)');
    await rows.nth(Math.floor((await rows.count()) / 2)).scrollIntoViewIfNeeded();
    await page.evaluate('window.scrollBy(0, window.innerHeight / 2)');
    const heading = (await page.locator('tbody.section-distraction tr.section').boundingBox())!;
    expect(heading.y).toBeGreaterThanOrEqual(0);
    expect(heading.y).toBeLessThan(5);
    await page.close();
  });

  it('can show only what differs from the defaults, each cell saying the default', async () => {
    const before = await open(technician, '/policy?show=changed');
    expect(await before.textContent('main')).toContain('Nothing differs from the defaults.');
    expect(await before.textContent('.matrix-filter')).toContain('only what differs from the defaults (0)');
    await before.close();
    // A technician opens chat to KS2 (saved as the form does it).
    const tech = await app.signIn('it.tech');
    const saved = await postForm(app, tech, '/policy', { _csrf: tech.csrf, base: versionOf(app.service.config.text), 'level.ks2.chat': 'warn', reason: 'Pen-pal project with a school in Lyon', confirm: 'yes' });
    expect(saved.status).toBe(303);

    const all = await open(technician, '/policy');
    // KS2's chat, and the guests' (they are like KS2).
    expect(await all.locator('.matrix td.changed select').evaluateAll((s) => s.map((e) => e.getAttribute('name')))).toEqual(['level.ks2.chat', 'level.guest.chat']);
    expect(await all.locator(`${cell('chat', 'ks2')}.changed .note`).textContent()).toBe('default: block');
    const fullHeight = await pageHeight(all);
    await all.close();
    const changed = await open(technician, '/policy?show=changed');
    expect(await changed.locator('.matrix th[scope=row] code').allTextContents()).toEqual(['chat']);
    expect(await changed.textContent('.matrix-filter')).toContain('(2)');
    expect(await pageHeight(changed)).toBeLessThan(fullHeight / 3);
    await changed.close();
  });

  it('has no accessibility violations axe-core finds, on a 1,280 px screen', async () => {
    const page = await open(technician, '/policy');
    expect(await axe(page)).toEqual([]);
    await page.close();
  });

  it('has no accessibility violations axe-core finds, on a phone', async () => {
    const page = await open(phone, '/policy');
    expect(await axe(page)).toEqual([]);
    await page.close();
  });
});

describe('other pages within the screen', () => {
  it('the group page\'s schedules fit a 1,280 px screen and a phone, every field labelled', async () => {
    for (const context of [technician, phone]) {
      const page = await open(context, '/policy/groups/staff');
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      expect(await page.getByLabel('To').first().inputValue()).toBe('13:00');
      expect(await axe(page)).toEqual([]);
      await page.close();
    }
  });

  it('the start page, Test a URL, the versions and the unblock form fit a phone', async () => {
    const small = await signedIn('t.teacher', PHONE);
    for (const [context, path] of [[small, '/'], [small, '/unblocks/new'], [small, '/test-url?url=http%3A%2F%2Fgames.selftest.invalid%2F'], [phone, '/policy/versions'], [phone, '/policy/users']] as const) {
      const page = await open(context, path);
      expect({ path, overflow: await overflow(page) }).toEqual({ path, overflow: 0 });
      await page.close();
    }
    await small.close();
  });
});

describe('the unblock form', () => {
  it('chooses no group for the teacher, refuses a request for a group until one is chosen, then marks the last one', async () => {
    const page = await open(teacher, `/unblocks/new?url=${encodeURIComponent('http://games.selftest.invalid/')}`);
    expect(await page.inputValue('#group')).toBe('');
    expect(await page.isChecked('input[name=for][value=group]')).toBe(true);
    await page.fill('#reason', 'Year 4 coding club: designing our own games');
    await page.click('text=Send the request');
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toContain('Choose which group it is for');
    expect(app.unblocks.list({ requestedBy: 't.teacher' })).toEqual([]);

    await page.goBack();
    await page.selectOption('#group', 'ks2');
    await page.fill('#reason', 'Year 4 coding club: designing our own games');
    await page.click('text=Send the request');
    await page.waitForSelector('text=waiting for a technician');
    expect(app.unblocks.list({ requestedBy: 't.teacher' })[0]!.target).toEqual({ kind: 'group', group: 'ks2' });

    // Next time, still nothing chosen, but the group asked for last time says so.
    await page.goto(`${app.url}/unblocks/new`);
    expect(await page.inputValue('#group')).toBe('');
    expect(await page.locator('#group option[value=ks2]').textContent()).toBe('KS2 pupils (your last request)');
    expect(await axe(page)).toEqual([]);
    await page.close();
  });
});
