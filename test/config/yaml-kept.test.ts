// YAML files kept as parsed (config/yaml.ts): a file read back from the state folder's cache gives
// the same value and the same line for every key path as parsing it, so every problem is
// reported on the same line; it is used only while the file's text is the same, a file with a
// syntax error is never kept, and a folder that may only be read gets nothing written.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parsedFile, textHash, writeParsed } from '../../src/classify/phrase-cache.js';
import { ConfigError, type ConfigProblem } from '../../src/config/errors.js';
import { keepParsedFiles } from '../../src/config/kept.js';
import { loadConfig } from '../../src/config/load.js';
import { YamlFile, type KeyPath } from '../../src/config/yaml.js';
import { problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir('schoolgate-yaml-kept-');
afterAll(tmp.cleanup);
afterEach(() => keepParsedFiles(null));
let n = 0;
const folder = (): string => join(tmp.dir, `kept-${n++}`);

/** Every key path of a value, and beside each a child that is not there. */
function pathsOf(v: unknown, at: KeyPath = []): KeyPath[] {
  const out: KeyPath[] = [at, [...at, 'not-there'], [...at, 7]];
  if (Array.isArray(v)) {
    out.push([...at, String(v.length - 1)]); // a sequence also takes an index written as text
    v.forEach((item, i) => out.push(...pathsOf(item, [...at, i])));
  } else if (v !== null && typeof v === 'object') {
    for (const [k, item] of Object.entries(v)) out.push(...pathsOf(item, [...at, k]));
  }
  return out;
}

/** The file parsed, then read back as kept: the same value, and the same line for every path (how many: returned). */
function expectKeptAsParsed(file: string): number {
  const dir = folder();
  keepParsedFiles(dir);
  const parsed = YamlFile.read(file);
  const back = YamlFile.read(file);
  expect(back).not.toBe(parsed);
  expect(back.value).toEqual(parsed.value);
  expect(back.text).toBe(parsed.text);
  const paths = pathsOf(parsed.value);
  for (const path of paths) expect(back.lineOf(path), JSON.stringify(path)).toBe(parsed.lineOf(path));
  return paths.length;
}

describe('a YAML file kept as parsed', () => {
  it('gives the shipped files back with every line as parsing does', () => {
    for (const name of ['default.yaml', 'categories.yaml', 'search-engines.yaml', 'safeguarding.yaml', 'no-intercept.yaml']) {
      expect(expectKeptAsParsed(join(CONFIG, name))).toBeGreaterThan(50);
    }
  });

  it('keeps the lines of flow collections, aliases, keys that are not text, empty values and documents', () => {
    const cases = {
      'shapes.yaml': [
        'a: &base { x: 1, y: [2, 3] }',
        'b: *base',
        'c:',
        '  - [p, q]',
        '  - k: v',
        '    m:',
        '  -',
        '1: one',
        'true: yes',
        'null: nothing',
        '"quoted key": |',
        '  text',
        'seq:',
        '- - deep',
        '  - [x: y]',
        '',
      ].join('\n'),
      'empty.yaml': '# nothing but a comment\n',
      'scalar.yaml': 'just text\n',
    };
    const paths = Object.entries(cases).map(([name, text]) => {
      const file = join(tmp.dir, name);
      writeFileSync(file, text);
      return expectKeptAsParsed(file);
    });
    expect(paths).toEqual([expect.any(Number), 3, 3]);
    expect(paths[0]).toBeGreaterThan(40);
  });

  it('is read back while the text is the same, and parsed again when it changes', () => {
    const dir = folder();
    keepParsedFiles(dir);
    const file = join(tmp.dir, 'changing.yaml');
    writeFileSync(file, 'weight: 1\n');
    expect(YamlFile.read(file).value).toEqual({ weight: 1 });
    expect(existsSync(parsedFile(dir, file, 'yaml'))).toBe(true);
    // What is kept is what a read gives: a kept value that differs from the file shows it was read back.
    writeParsed(dir, file, textHash('weight: 1\n'), { value: { weight: 'kept' }, lines: null }, 'yaml');
    expect(YamlFile.read(file).value).toEqual({ weight: 'kept' });
    writeFileSync(file, 'weight: 2\n');
    expect(YamlFile.read(file).value).toEqual({ weight: 2 });
    expect(YamlFile.read(file).value).toEqual({ weight: 2 });
  });

  it('is never kept with a syntax error, which is reported the same every time', () => {
    const dir = folder();
    keepParsedFiles(dir);
    const file = join(tmp.dir, 'broken.yaml');
    writeFileSync(file, 'a: 1\nb: [unclosed\n');
    const message = (): string => {
      try {
        YamlFile.read(file);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const first = message();
    expect(first).toMatch(/YAML syntax/);
    expect(message()).toBe(first);
    expect(existsSync(parsedFile(dir, file, 'yaml'))).toBe(false);
  });

  it('is not written into a folder this process may only read from', () => {
    const dir = folder();
    keepParsedFiles(dir, false);
    YamlFile.read(join(CONFIG, 'categories.yaml'));
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});

describe('a configuration loaded from kept files', () => {
  it('is the configuration loaded by parsing, problems and their lines included', () => {
    const file = join(tmp.dir, 'problems.yaml');
    // Problems on several lines, nested ones included.
    writeFileSync(file, `categories: ${CONFIG}/categories.yaml\nbogus: 1\nschool:\n  timezone: Nowhere/Land\nlists:\n  sources:\n    - {name: x, format: csv, path: a}\n`);
    const problems = (): ConfigProblem[] => problemsOf(() => loadConfig(file));
    const parsed = problems();
    expect(parsed.map((p) => p.key)).toEqual(expect.arrayContaining(['bogus', 'school.timezone']));
    expect(parsed.every((p) => p.line > 0)).toBe(true);
    keepParsedFiles(folder());
    expect(problems()).toEqual(parsed); // parsed, and kept
    expect(problems()).toEqual(parsed); // read back
  });

  it('has the same rules, with their lines, as the shipped configuration parsed', () => {
    const parsed = loadConfig(join(CONFIG, 'default.yaml'));
    keepParsedFiles(folder());
    loadConfig(join(CONFIG, 'default.yaml'));
    const back = loadConfig(join(CONFIG, 'default.yaml'));
    expect(back.policy).toEqual(parsed.policy);
    expect(back.safeguarding).toEqual(parsed.safeguarding);
    expect(back.searchEngines).toEqual(parsed.searchEngines);
    expect(back.tls).toEqual(parsed.tls);
    expect(back.warnings).toEqual(parsed.warnings);
  });
});
