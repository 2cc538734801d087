// The compiled phrase rules kept in the state folder (phrase-cache.ts): a restart with the same
// rules and code reads them back instead of compiling, and what it reads answers exactly as the
// rules compiled now; a changed rule, a broken file or a folder that cannot be written costs a
// compile, never a wrong or missing matcher.
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileInChild, MATCHER_GRAPH } from '../../src/classify/phrase-build-child.js';
import { cacheFile, decodeCached, fingerprintOf, parsedFile, readCached, readChecked, readFrom, readParsed, seeFile, textHash, writeChecked, writeParsed } from '../../src/classify/phrase-cache.js';
import { forgetPhraseFiles, loadLexicon, loadPhraseFile, phraseFilesAt } from '../../src/classify/phrase-file.js';
import { keepParsedFiles } from '../../src/config/kept.js';
import { ConfigError } from '../../src/config/errors.js';
import { baseFromCache, basePhrases } from '../../src/classify/phrase-overlay.js';
import { buildPhraseMatcher, type PhraseMatcher, type PhraseSettings } from '../../src/classify/phrases.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir('schoolgate-phrase-cache-');
afterAll(tmp.cleanup);

const shipped = loadConfig('config/default.yaml').phrases;
const shippedPhraseFolders = ['config/phrases/en/', 'config/phrases/pl/', 'config/phrases/ur-latn/'];
/** A few hundred of the shipped rules: compiles in a fraction of the time, for the cases about files. */
const small = (threshold = shipped.threshold): PhraseSettings => ({ ...shipped, threshold, entries: shipped.entries.slice(0, 300) });
const searches = readFileSync('test/fixtures/safeguarding/searches.dev.tsv', 'utf8').split('\n').slice(1, 2001).filter(Boolean).map((l) => l.split('\t')[0]!);
/** Two matchers answer the first dev searches alike, and those searches give them something to answer. */
function expectSameAnswers(a: PhraseMatcher, b: PhraseMatcher): void {
  let hits = 0;
  for (const t of searches.slice(0, 500)) {
    const r = a.matchSearch(t);
    expect(r, t).toEqual(b.matchSearch(t));
    hits += r.hits.length;
  }
  expect(hits).toBeGreaterThan(0);
}
const cached = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('phrases-'));

describe('the shipped rules kept on disk', () => {
  const dir = join(tmp.dir, 'shipped');
  let first: Awaited<ReturnType<typeof compileInChild>>;
  let second: Awaited<ReturnType<typeof compileInChild>>;
  beforeAll(async () => {
    first = await compileInChild(shipped, null, dir);
    second = await compileInChild(shipped, null, dir);
  });

  it('are compiled the first time and written, then read back the next', () => {
    expect(first.from).toBe('compiled');
    expect(first.cacheProblem).toBeNull();
    expect(cached(dir)).toEqual([cacheFile(dir, first.fingerprint).slice(dir.length + 1)]);
    expect(second.from).toBe('cache');
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it('answer searches, addresses and pages exactly as the rules compiled here do', () => {
    const here = buildPhraseMatcher(shipped);
    const back = second.compiled!.matcher;
    let flagged = 0;
    for (const t of searches) {
      expect(back.matchSearch(t), t).toEqual(here.matchSearch(t));
      expect(back.matchWords(`/${t.replaceAll(' ', '-')}`)).toEqual(here.matchWords(`/${t.replaceAll(' ', '-')}`));
      if (here.matchSearch(t).flagged.length > 0) flagged++;
    }
    expect(flagged).toBeGreaterThan(1000);
    const page = searches.slice(0, 300).join('. And then, ');
    expect(back.matchPage(page)).toEqual(here.matchPage(page));
    expect(second.compiled!.ruleKeys).toEqual(first.compiled!.ruleKeys);
  });

  it('let a command on the same files use them without compiling, and read nothing from an empty folder', () => {
    const again = loadConfig('config/default.yaml').phrases; // a new settings object, as a command has
    expect(baseFromCache(again, dir)).toBe(true);
    expect(basePhrases(again).matchSearch('how to kill myself')).toEqual(second.compiled!.matcher.matchSearch('how to kill myself'));
    const other = loadConfig('config/default.yaml').phrases;
    expect(baseFromCache(other, join(tmp.dir, 'nothing-here'))).toBe(false);
  });
});

describe('a cache that cannot be trusted or written', () => {
  it('misses when a rule setting changes, and keeps only the newest two files', async () => {
    const dir = join(tmp.dir, 'changed');
    const a = await compileInChild(small(10), null, dir);
    const b = await compileInChild(small(11), null, dir);
    expect([a.from, b.from]).toEqual(['compiled', 'compiled']);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect((await compileInChild(small(10), null, dir)).from).toBe('cache'); // going back one costs nothing
    utimesSync(cacheFile(dir, a.fingerprint), 1, 1); // a is now the older of the two
    const c = await compileInChild(small(12), null, dir);
    expect(c.from).toBe('compiled');
    expect(cached(dir).sort()).toEqual([b, c].map((x) => cacheFile(dir, x.fingerprint).slice(dir.length + 1)).sort());
    expect(readCached(dir, a.fingerprint)).toBeNull();
  });

  it('compiles again and replaces a file that does not decode, saying so', async () => {
    const dir = join(tmp.dir, 'broken');
    const good = await compileInChild(small(), null, dir);
    const file = cacheFile(dir, good.fingerprint);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length >> 1)); // a crash mid-copy, a full disk
    const again = await compileInChild(small(), null, dir);
    expect(again.from).toBe('compiled');
    expect(again.cacheProblem).toMatch(/compiled again$/);
    expectSameAnswers(again.compiled!.matcher, good.compiled!.matcher);
    expect(decodeCached(readFileSync(file), MATCHER_GRAPH).ruleKeys).toEqual(good.compiled!.ruleKeys);
    expect(() => decodeCached(new Uint8Array([1, 2, 3]), MATCHER_GRAPH)).toThrow();
  });

  it('still compiles and answers when the folder cannot be written, and says why', async () => {
    const blocked = join(tmp.dir, 'blocked');
    mkdirSync(tmp.dir, { recursive: true });
    writeFileSync(blocked, 'a file where the folder would be');
    const r = await compileInChild(small(), null, blocked);
    expect(r.from).toBe('compiled');
    expect(r.cacheProblem).toMatch(/EEXIST|ENOTDIR/);
    expectSameAnswers(r.compiled!.matcher, buildPhraseMatcher(small()));
    expect(existsSync(join(blocked, 'x'))).toBe(false);
  });
});

describe('parsed phrase files kept between runs', () => {
  const dir = join(tmp.dir, 'parsed');
  const file = join(tmp.dir, 'kept-phrases.yaml');
  const yaml = (weight: number): string => `language: en\ncategories:\n  bullying:\n    "zorblax loser": ${weight}\n`;
  afterAll(() => keepParsedFiles(null));

  it('reads a file as parsed by an earlier run only while its text and the code are the same', () => {
    writeFileSync(file, yaml(12));
    keepParsedFiles(dir);
    forgetPhraseFiles();
    const first = loadPhraseFile(file);
    expect(first.entries.map((e) => [e.phrase, e.weight, e.line])).toEqual([['zorblax loser', 12, 4]]);
    expect(existsSync(parsedFile(dir, file))).toBe(true);
    // What is kept is what is used: a kept value for this very text comes back as it is.
    writeParsed(dir, file, textHash(yaml(12)), { ...first, entries: [{ ...first.entries[0]!, weight: 99 }] });
    forgetPhraseFiles();
    expect(loadPhraseFile(file).entries[0]!.weight).toBe(99);
    // A changed file is parsed again, and kept anew.
    writeFileSync(file, yaml(13));
    forgetPhraseFiles();
    expect(loadPhraseFile(file).entries[0]!.weight).toBe(13);
    expect(readParsed<{ entries: { weight: number }[] }>(dir, file, textHash(yaml(13)))!.entries[0]!.weight).toBe(13);
    expect(readParsed(dir, file, textHash(yaml(12)))).toBeNull();
  });

  it('keeps nothing when only reading, and nothing of a file with a problem', () => {
    const readOnly = join(tmp.dir, 'parsed-read-only');
    writeFileSync(file, yaml(14));
    keepParsedFiles(readOnly, false);
    forgetPhraseFiles();
    expect(loadPhraseFile(file).entries[0]!.weight).toBe(14);
    expect(existsSync(readOnly)).toBe(false);
    keepParsedFiles(dir);
    writeFileSync(file, 'language: en\ncategories:\n  bullying:\n    "zorblax loser": 0\n');
    forgetPhraseFiles();
    expect(() => loadPhraseFile(file)).toThrow(ConfigError);
    expect(readParsed(dir, file, textHash(readFileSync(file, 'utf8')))).toBeNull();
  });

  it('gives the shipped lexicon back exactly, read from the files a first time and from what was kept the next', () => {
    keepParsedFiles(join(tmp.dir, 'parsed-shipped'));
    forgetPhraseFiles();
    const parsed = loadLexicon(shippedPhraseFolders);
    forgetPhraseFiles();
    const kept = loadLexicon(shippedPhraseFolders);
    expect(kept).toEqual(parsed);
    expect(readdirSync(join(tmp.dir, 'parsed-shipped')).filter((f) => f.startsWith('lexicon-')).length).toBe(shippedPhraseFolders.flatMap(phraseFilesAt).length);
  });
});

describe('checks across the phrase files, and of the search model, remembered once passed', () => {
  const dir = join(tmp.dir, 'checked');
  const file = join(tmp.dir, 'checked-phrases.yaml');
  const withClass = (defined: boolean): string => `language: en\n${defined ? 'words:\n  zorb: [zorblax, zorbl]\n' : ''}categories:\n  bullying:\n    "@zorb loser": 12\n`;
  const checkedFiles = (): string[] => readdirSync(dir).filter((f) => f.startsWith('checked-'));
  afterAll(() => keepParsedFiles(null));

  it('keeps a pass, never a failure, and a kept pass is what is used for exactly those texts', () => {
    keepParsedFiles(dir);
    writeFileSync(file, withClass(false));
    forgetPhraseFiles();
    expect(() => loadLexicon([file])).toThrow(/no word class @zorb/);
    expect(existsSync(dir) ? checkedFiles() : []).toEqual([]);
    writeFileSync(file, withClass(true));
    forgetPhraseFiles();
    expect(loadLexicon([file]).entries.map((e) => e.phrase)).toEqual(['@zorb loser']);
    expect(checkedFiles()).toHaveLength(1);
    // A pass kept for this very text is trusted, which is why only passes are kept: shown here
    // by keeping one for a text that fails.
    writeChecked(dir, 'lexicon', [file, textHash(withClass(false))], true);
    writeFileSync(file, withClass(false));
    forgetPhraseFiles();
    expect(loadLexicon([file]).entries.map((e) => e.phrase)).toEqual(['@zorb loser']);
    // Another text is checked again.
    writeFileSync(file, `${withClass(false)}    "@zorb idiot": 12\n`);
    forgetPhraseFiles();
    expect(() => loadLexicon([file])).toThrow(/no word class @zorb/);
    expect(readChecked(dir, 'lexicon', [file, textHash(withClass(true))])).toBe(true);
  });

  it('builds a search model whose file passed before only when it is used, as the same model', () => {
    const config = 'config/default.yaml';
    keepParsedFiles(join(tmp.dir, 'checked-model'));
    const first = loadConfig(config).phrases.model!;
    expect(readdirSync(join(tmp.dir, 'checked-model')).filter((f) => f.startsWith('checked-')).length).toBeGreaterThanOrEqual(1);
    const second = loadConfig(config).phrases.model!;
    expect(second.model.graded).toBe(first.model.graded);
    const answers = (m: typeof first): string[] => searches.slice(0, 200).map((t) => JSON.stringify(m.model.concerns(t, m.threshold, m.danger, m.alone)));
    expect(answers(second)).toEqual(answers(first));
    expect(answers(first).some((a) => a !== '[]')).toBe(true);
    keepParsedFiles(null);
  });

  it('keeps the search model as built, and builds it from what was kept only for the same text', () => {
    const dir = join(tmp.dir, 'built-model');
    keepParsedFiles(dir);
    const first = loadConfig('config/default.yaml').phrases.model!;
    const answers = (m: typeof first): string[] => searches.slice(0, 200).map((t) => JSON.stringify(m.model.concerns(t, m.threshold, m.danger, m.alone)));
    const asParsed = answers(first);
    expect(asParsed.some((a) => a !== '[]')).toBe(true);
    expect(existsSync(parsedFile(dir, first.file, 'model'))).toBe(true);
    expect(answers(loadConfig('config/default.yaml').phrases.model!)).toEqual(asParsed);
    // What is kept is what is built: parts kept for this text with every weight doubled answer otherwise.
    const text = readFileSync(first.file, 'utf8');
    const parts = first.model.parts;
    const doubled = (b: typeof parts.chars): typeof parts.chars => ({ ...b, w: b.w.map((x) => 2 * x) });
    writeParsed(dir, first.file, textHash(text), { ...parts, chars: doubled(parts.chars), words: doubled(parts.words) }, 'model');
    expect(answers(loadConfig('config/default.yaml').phrases.model!)).not.toEqual(asParsed);
    // Another text (the same model written differently) is parsed again, and kept in their place.
    const copy = join(tmp.dir, 'model-copy.json');
    writeFileSync(copy, `${text}\n`);
    const otherConfig = writeTestConfig(tmp.dir, '');
    writeFileSync(otherConfig, readFileSync(otherConfig, 'utf8').replace(`file: ${first.file}`, `file: ${copy}`));
    writeParsed(dir, copy, textHash(text), { ...parts, chars: doubled(parts.chars), words: doubled(parts.words) }, 'model');
    expect(answers(loadConfig(otherConfig).phrases.model!)).toEqual(asParsed);
    keepParsedFiles(null);
  });
});

describe('files known by their identity, and the rules\' fingerprint by what they were read from', () => {
  afterAll(() => keepParsedFiles(null));

  it('finds a text\'s hash by the file\'s identity without reading it, and reads a changed file again', () => {
    const dir = join(tmp.dir, 'identity');
    const file = join(tmp.dir, 'identity.txt');
    const read: string[] = [];
    const reader = (p: string): string => (read.push(p), readFileSync(p, 'utf8'));
    writeFileSync(file, 'zorblax one');
    // Just written, its identity is not kept: another write within one tick of its times would keep it.
    expect(seeFile({ dir, write: true }, file, reader)).toEqual({ hash: textHash('zorblax one'), text: 'zorblax one' });
    const later = Date.now() + 60_000;
    expect(seeFile({ dir, write: true }, file, reader, later)).toEqual({ hash: textHash('zorblax one'), text: 'zorblax one' });
    expect(seeFile({ dir, write: true }, file, reader, later)).toEqual({ hash: textHash('zorblax one'), text: null });
    expect(read).toHaveLength(2);
    // Rewritten (another size, times): read and hashed again.
    writeFileSync(file, 'zorblax two!');
    expect(seeFile({ dir, write: true }, file, reader, later)).toEqual({ hash: textHash('zorblax two!'), text: 'zorblax two!' });
    // Without a kept folder, or only reading one, every call reads and nothing is written.
    const readOnly = join(tmp.dir, 'identity-read-only');
    expect(seeFile(null, file, reader).text).toBe('zorblax two!');
    expect(seeFile({ dir: readOnly, write: false }, file, reader).text).toBe('zorblax two!');
    expect(read).toHaveLength(5);
    expect(existsSync(readOnly)).toBe(false);
  });

  it('reads a phrase file known by its identity from what was kept, not from its text', () => {
    const dir = join(tmp.dir, 'identity-phrases');
    const file = join(tmp.dir, 'identity-phrases.yaml');
    writeFileSync(file, 'language: en\ncategories:\n  bullying:\n    "zorblax loser": 12\n');
    keepParsedFiles(dir);
    forgetPhraseFiles();
    const first = loadPhraseFile(file);
    // What was kept for the text's hash is what a restart uses: shown by planting another weight.
    writeParsed(dir, file, textHash(readFileSync(file, 'utf8')), { ...first, entries: [{ ...first.entries[0]!, weight: 77 }] });
    forgetPhraseFiles();
    expect(loadPhraseFile(file).entries[0]!.weight).toBe(77);
  });

  it('takes the fingerprint kept for the same sources, and hashes the rules of settings read from nothing known', () => {
    const dir = join(tmp.dir, 'fingerprint');
    keepParsedFiles(dir);
    const hashed = fingerprintOf(small());
    const first = small();
    readFrom(first, ['zorblax sources']);
    expect(fingerprintOf(first)).toBe(hashed);
    expect(readChecked(dir, 'fingerprint', ['zorblax sources'])).toBe(hashed);
    writeChecked(dir, 'fingerprint', ['zorblax sources'], 'planted');
    const again = small();
    readFrom(again, ['zorblax sources']);
    expect(fingerprintOf(again)).toBe('planted');
    expect(fingerprintOf(small())).toBe(hashed);
  });
});
