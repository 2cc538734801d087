// `schoolgate classify URL --page FILE`: the real command on real files, with a configuration
// whose phrase list is the tests' own (test/fixtures/phrases/detect.yaml), so tuning the
// shipped lists never changes what these tests expect.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

let config: string;
beforeAll(() => {
  // The shipped configuration, beside copies of the files it names, with the phrases replaced.
  for (const f of ['categories.yaml', 'search-engines.yaml', 'safeguarding.yaml', 'no-intercept.yaml']) copyFileSync(join(CONFIG, f), join(tmp.dir, f));
  copyFileSync(resolve(import.meta.dirname, '../fixtures/phrases/detect.yaml'), join(tmp.dir, 'phrases.yaml'));
  const text = readFileSync(join(CONFIG, 'default.yaml'), 'utf8')
    .replace(/phrases:\n(?:[ #].*\n|\n)*?(?=\S)/, 'phrases:\n  threshold: 10\n  danger: 20\n  files:\n    - phrases.yaml\n\n')
    .replace(/(\n\s*(?:path|root|dir):\s*)\.\.?\/?(\S*)/g, `$1${resolve(CONFIG, '..')}/$2`);
  config = join(tmp.dir, 'default.yaml');
  writeFileSync(config, text);
});

interface PageJson {
  page: { title: string; charset: string };
  content: { concerns: { category: string; score: number; severity: string; evidence: { rule: string; weight: number; matched: string; line: number }[] }[] };
  alerts: { category: string; severity: string }[];
}

async function classifyPage(file: string, body: Buffer | string, ...more: string[]) {
  const path = join(tmp.dir, file);
  writeFileSync(path, body);
  return schoolgate(['classify', 'https://forum.example.test/thread/42', '--page', path, '--config', config, '--data', join(tmp.dir, 'data'), ...more]);
}

describe('classify --page', () => {
  it('reads the page as the same engine reads searches, and says why in --json', async () => {
    const html = '<!doctype html><html><head><title>Posts</title><style>.want-to-die{}</style></head>'
      + '<body><nav>Home</nav><p>I just want to</p><p>die. Nobody listens.</p><p>i want to die tonight</p>'
      + '<script>var hideMyCuts = "hide my cuts";</script></body></html>';
    const r = await classifyPage('post.html', html, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PageJson;
    expect(j.page).toEqual({ file: expect.any(String), title: 'Posts', charset: 'utf-8' });
    expect(j.content.concerns).toHaveLength(1);
    const [c] = j.content.concerns;
    expect(c).toMatchObject({ category: 'suicide', score: 20, severity: 'danger' });
    // Found where it was written, not in the style or script, with its rule and line.
    expect(c!.evidence).toEqual([expect.objectContaining({ rule: 'want to die', weight: 20, matched: 'want to die', line: 10 })]);
    expect(j.alerts).toEqual([{ category: 'suicide', severity: 'danger' }]);
  });

  it('takes the charset from the page: windows-1252 and ISO-8859-1 bytes, a meta charset', async () => {
    // "hide my cuts" with a curly apostrophe in windows-1252 around it, and an é.
    const body = Buffer.concat([
      Buffer.from('<html><head><meta charset="iso-8859-1"><title>Caf'), Buffer.from([0xe9]), Buffer.from('</title></head><body>I don'),
      Buffer.from([0x92]), Buffer.from('t know how to hide my cuts</body></html>'),
    ]);
    const r = await classifyPage('latin.html', body, '--json');
    const j = JSON.parse(r.stdout) as PageJson;
    expect(j.page).toMatchObject({ title: 'Café', charset: 'windows-1252' });
    expect(j.content.concerns.map((c) => `${c.category}:${c.severity}`)).toEqual(['self-harm:danger']);
  });

  it('reads a plain-text page, and raises nothing for an ordinary one', async () => {
    const r = await classifyPage('notes.txt', 'Revision notes: the water cycle, evaporation and rain.', '--json');
    const j = JSON.parse(r.stdout) as PageJson;
    expect(j.content.concerns).toEqual([]);
    expect(j.alerts).toEqual([]);
  });

  it('explains the page in the plain output', async () => {
    const r = await classifyPage('plain.html', '<title>x</title><p>join isis now</p>');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/page\s+"x" \(utf-8/);
    expect(r.stdout).toMatch(/extremism\s+page\s+\+20\s+"join isis"\s+<- "join isis"/);
    expect(r.stdout).toContain('alerts      radicalisation-extremism (danger)');
  });

  it('says so in the plain output when the page raises nothing', async () => {
    const r = await classifyPage('calm.txt', 'Revision notes: the water cycle, evaporation and rain.');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^alerts {6}\(none\)$/m);
  });

  it('says when the page cannot be read, with exit code 1', async () => {
    const r = await schoolgate(['classify', 'example.test', '--page', join(tmp.dir, 'no-such-page.html'), '--config', config, '--data', join(tmp.dir, 'data')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read the page .*no-such-page\.html: no such file/);
  });
});
