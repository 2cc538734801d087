// Reading phrase files (version 2: words, emoji, categories): what a correct file gives, and
// for every mistake a problem that names the file, the line and a fix.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadLexicon, loadPhraseFile, PHRASE_CATEGORIES, phraseFilesAt, ruleProblem, undefinedClasses, type PhraseEntry,
} from '../../src/classify/phrase-file.js';
import { formatProblem } from '../../src/config/errors.js';
import { expectProblems, problemsOf as problemsFrom, type WantedProblem } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-phrase-file-');
afterAll(tmp.cleanup);
let n = 0;
function write(text: string, name = `phrases-${++n}.yaml`, dir = tmp.dir): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
const problemsOf = (file: string) => problemsFrom(() => loadPhraseFile(file));

describe('loadPhraseFile', () => {
  it('reads rules, word classes and emoji with their language, file and line', () => {
    const file = write([
      'language: en',
      'words:',
      '  self: [myself, "my self", me]',
      '  method:',
      '    - hang',
      '    - "jump off"',
      'emoji:',
      '  "🔪": knife',
      '  "💊️": pills',
      'categories:',
      '  suicide:',
      '    "kill @self": 20',
      '    "suicid*": 10',
      '    "@method + @self": { weight: 20, within: 4, intent: true }',
      '    "essay": -10',
      '  drugs:',
      '    "lean": 2.5',
      '',
    ].join('\n'));
    expect(loadPhraseFile(file)).toEqual({
      entries: [
        { category: 'suicide', phrase: 'kill @self', weight: 20, language: 'en', file, line: 12 },
        { category: 'suicide', phrase: 'suicid*', weight: 10, language: 'en', file, line: 13 },
        { category: 'suicide', phrase: '@method + @self', weight: 20, within: 4, intent: true, language: 'en', file, line: 14 },
        { category: 'suicide', phrase: 'essay', weight: -10, language: 'en', file, line: 15 },
        { category: 'drugs', phrase: 'lean', weight: 2.5, language: 'en', file, line: 17 },
      ],
      classes: [
        { name: 'self', members: ['myself', 'my self', 'me'], language: 'en', file, line: 3 },
        { name: 'method', members: ['hang', 'jump off'], language: 'en', file, line: 4 },
      ],
      // U+FE0F (emoji presentation) is dropped, so "💊" and "💊️" are one symbol.
      emoji: [
        { emoji: '🔪', words: 'knife', file, line: 8 },
        { emoji: '💊', words: 'pills', file, line: 9 },
      ],
    });
  });

  it('takes negative weights in every category, suicide and self-harm included (context, floored by intent rules)', () => {
    const file = write('language: en\ncategories:\n  suicide:\n    "essay": -6\n  self-harm:\n    "film": -2\n');
    expect(loadPhraseFile(file).entries.map((e) => [e.category, e.weight])).toEqual([['suicide', -6], ['self-harm', -2]]);
  });

  it('accepts a file with no categories, or only words, and a number as a class member', () => {
    expect(loadPhraseFile(write('language: en\ncategories: {}\n'))).toEqual({ entries: [], classes: [], emoji: [] });
    const file = write('language: ur-latn\nwords:\n  age: [12, 13, thirteen]\n');
    expect(loadPhraseFile(file).classes).toEqual([{ name: 'age', members: ['12', '13', 'thirteen'], language: 'ur-latn', file, line: 3 }]);
  });

  const cases: [string, string, WantedProblem[]][] = [
    ['an unknown category', 'language: en\ncategories:\n  weapons:\n    "knife": 10\n',
      [{ line: 3, key: 'categories.weapons', message: 'unknown category "weapons"' }]],
    ['an unknown category with no rules', 'language: en\ncategories:\n  drug:\n  suicide:\n    "x": 5\n',
      [{ line: 3, key: 'categories.drug', message: 'unknown category "drug"' }]],
    ["a '*' in the middle of a word", 'language: en\ncategories:\n  drugs:\n    "co*caine": 5\n',
      [{ line: 4, key: 'categories.drugs.co*caine', message: `"co*caine": '*' is only allowed at the end of a word` }]],
    ['"within" on a rule that is not a combination', 'language: en\ncategories:\n  suicide:\n    "kill myself": { weight: 20, within: 3 }\n',
      [{ line: 4, key: 'categories.suicide.kill myself', message: '"kill myself": "within" is for a combination' }]],
    ['a zero weight', 'language: en\ncategories:\n  drugs:\n    "x": 0\n',
      [{ line: 4, key: 'categories.drugs.x', message: '"x": weight must not be 0' }]],
    ['a zero weight written out', 'language: en\ncategories:\n  drugs:\n    "x + y": { weight: 0, within: 3 }\n',
      [{ line: 4, key: 'categories.drugs.x + y', message: '"x + y": weight must not be 0' }]],
    ['a bad word class name', 'language: en\nwords:\n  Self: [me]\n  self_: [me]\n',
      [{ line: 3, key: 'words.Self', message: '"Self" is not a word class name' }, { line: 4, key: 'words.self_', message: '"self_" is not a word class name' }]],
    ['a bad class name in a rule', 'language: en\ncategories:\n  suicide:\n    "kill @My_Self": 20\n',
      [{ line: 4, key: 'categories.suicide.kill @My_Self', message: /"@My_Self" is not a word class name/ }]],
    ['the same rule twice once folded', 'language: en\ncategories:\n  suicide:\n    "Kill Myself": 20\n    "kill  myself!": 10\n',
      [{ line: 5, key: 'categories.suicide.kill  myself!', message: '"kill  myself!" is the same rule as "Kill Myself" on line 4 once folded' }]],
    ['the same rule twice in two spellings of a language', 'language: pl\ncategories:\n  suicide:\n    "jak się zabić": 10\n    "JAK SIE ZABIC": 8\n',
      [{ line: 5, key: 'categories.suicide.JAK SIE ZABIC', message: '"JAK SIE ZABIC" is the same rule as "jak się zabić" on line 4 once folded' }]],
    ['a combination with an empty part', 'language: en\ncategories:\n  suicide:\n    "alpha +  + bravo": 20\n',
      [{ line: 4, key: 'categories.suicide.alpha +  + bravo', message: /empty part/ }]],
    ['a "within" out of range', 'language: en\ncategories:\n  suicide:\n    "a1 + b1": { weight: 20, within: 31 }\n    "a2 + b2": { weight: 20, within: 1 }\n    "a3 + b3": { weight: 20, within: 2.5 }\n',
      [
        { line: 4, key: 'categories.suicide.a1 + b1.within', message: 'must be at most 30, found 31' },
        { line: 5, key: 'categories.suicide.a2 + b2.within', message: 'must be at least 2, found 1' },
        { line: 6, key: 'categories.suicide.a3 + b3.within', message: 'must be a whole number, found 2.5' },
      ]],
    ['an "intent" that is not true or false', 'language: en\ncategories:\n  suicide:\n    "a + b": { weight: 20, intent: yes please }\n',
      [{ line: 4, key: 'categories.suicide.a + b.intent', message: 'must be true or false, found text "yes please"' }]],
    ['an unknown rule option', 'language: en\ncategories:\n  suicide:\n    "a + b": { weight: 20, witin: 3 }\n',
      [{ line: 4, key: 'categories.suicide.a + b.witin', message: 'unknown key "witin"' }]],
    ['a rule with options but no weight', 'language: en\ncategories:\n  suicide:\n    "a + b": { within: 3 }\n',
      [{ line: 4, key: 'categories.suicide.a + b.weight', message: 'must be a number, found nothing' }]],
    ['a weight that is not a number', 'language: en\ncategories:\n  drugs:\n    "x": high\n',
      [{ line: 4, key: 'categories.drugs.x', message: /found text "high"/ }]],
    ['a missing weight', 'language: en\ncategories:\n  drugs:\n    "x":\n',
      [{ line: 4, key: 'categories.drugs.x', message: /found nothing/ }]],
    ['a weight above 100 or below -100', 'language: en\ncategories:\n  drugs:\n    "ok": 1\n    "x": 150\n    "y": -101\n',
      [{ line: 5, key: 'categories.drugs.x', message: 'must be at most 100, found 150' }, { line: 6, key: 'categories.drugs.y', message: 'must be at least -100, found -101' }]],
    ['a phrase that folds to nothing', 'language: en\ncategories:\n  drugs:\n    "!!!": 5\n',
      [{ line: 4, key: 'categories.drugs.!!!', message: '"!!!" has no letters or digits to match' }]],
    ['a phrase that is only a star', 'language: en\ncategories:\n  drugs:\n    "*": 5\n',
      [{ line: 4, key: 'categories.drugs.*', message: /'\*'|no letters/ }]],
    ['a class member with a star inside', 'language: en\nwords:\n  self: [me, "my*self"]\n',
      [{ line: 3, key: 'words.self[1]', message: `"my*self": '*' is only allowed at the end of a word` }]],
    ['a class that is not a list', 'language: en\nwords:\n  self: me\n',
      [{ line: 3, key: 'words.self', message: 'must be a list ("- item" lines), found text "me"' }]],
    ['an emoji key that is a word, and one that stands for nothing', 'language: en\nemoji:\n  "x": knife\n  "🔪": "!!"\n',
      [{ line: 3, key: 'emoji.x', message: '"x" is not an emoji or symbol' }, { line: 4, key: 'emoji.🔪', message: '"!!" has no letters or digits' }]],
    ['a missing language', 'categories:\n  drugs:\n    "x": 5\n',
      [{ line: 1, key: 'language', message: 'must be a non-empty text value, found nothing' }]],
    ['a language that is not a tag', 'language: English\ncategories:\n  drugs:\n    "x": 5\n',
      [{ line: 1, key: 'language', message: '"English" is not valid' }]],
    ['an unknown top-level key', 'language: en\ncatgories:\n  drugs:\n    "x": 5\n',
      [{ line: 2, key: 'catgories', message: 'unknown key "catgories"' }]],
    ['categories as a list', 'language: en\ncategories: [drugs, violence]\n',
      [{ line: 2, key: 'categories', message: 'must be a mapping (key: value lines), found a list' }]],
    ['a category that is not a mapping', 'language: en\ncategories:\n  suicide: 5\n',
      [{ line: 3, key: 'categories.suicide', message: 'must be a mapping (key: value lines), found number 5' }]],
    ['an empty file', '',
      [{ line: 0, key: '', message: 'must be a mapping (key: value lines), found nothing' }]],
    ['a rule listed twice', 'language: en\ncategories:\n  drugs:\n    "x": 5\n    "x": 6\n',
      [{ line: 5, key: '', message: /^YAML syntax: Map keys must be unique/ }]],
    ['a YAML syntax error', 'language: en\ncategories:\n  drugs:\n    "x: 5\n',
      [{ line: 5, key: '', message: /^YAML syntax: Missing closing "quote/ }]],
    ['every problem at once', 'language: en\ncategories:\n  drugs:\n    "a": 0\n    "b": 500\n  suicide:\n    "c*d": 1\n  weapons:\n    "d": 1\n',
      [
        { line: 4, key: 'categories.drugs.a', message: '"a": weight must not be 0' },
        { line: 5, key: 'categories.drugs.b', message: 'must be at most 100, found 500' },
        { line: 7, key: 'categories.suicide.c*d', message: `"c*d": '*' is only allowed at the end of a word` },
        { line: 8, key: 'categories.weapons', message: 'unknown category "weapons"' },
      ]],
  ];

  it.each(cases)('reports %s with file and line', (_why, text, want) => {
    const file = write(text);
    expectProblems(problemsOf(file), file, want);
  });

  it('gives a fix with every problem in a rule, a class or an emoji', () => {
    for (const [why, text] of cases) {
      if (why.includes('YAML') || why.includes('listed twice') || why.includes('empty file')) continue;
      for (const p of problemsOf(write(text))) {
        if (/must be|unknown key/.test(p.message)) continue; // the checker's type messages say what to write
        expect(p.fix, `${why}: ${p.message}`).toMatch(/\w/);
      }
    }
  });

  it('names the valid categories in the fix and the message', () => {
    const file = write('language: en\ncategories:\n  radicalisation:\n    "x": 5\n');
    const [p] = problemsOf(file);
    expect(p?.fix).toBe(`use one of: ${PHRASE_CATEGORIES.join(', ')}`);
    expect(formatProblem(p!)).toBe(`${file}:3: categories.radicalisation: unknown category "radicalisation" (fix: use one of: ${PHRASE_CATEGORIES.join(', ')})`);
  });

  it('treats a combination written with its parts in another order as the same rule', () => {
    // Parts match in any order, so these two lines are one rule counted twice.
    const file = write('language: en\ncategories:\n  suicide:\n    "@method + @self": 20\n    "@self + @method": 20\n');
    expectProblems(problemsOf(file), file, [{ line: 5, key: 'categories.suicide.@self + @method', message: /same rule/ }]);
  });

  it('reports a missing file', () => {
    const file = join(tmp.dir, 'missing.yaml');
    expect(problemsOf(file)).toEqual([{ file, line: 0, key: '', message: 'file not found', fix: 'check the path' }]);
  });
});

describe('loadLexicon', () => {
  it('reads a directory\'s *.yaml files in name order, beside single files', () => {
    const dir = join(tmp.dir, 'lexicon-dir');
    mkdirSync(dir);
    const b = write('language: en\ncategories:\n  drugs:\n    "lean": 4\n', 'b.yaml', dir);
    const a = write('language: en\nwords:\n  self: [myself]\ncategories:\n  drugs:\n    "lean": 10\n', 'a.yaml', dir);
    write('not: a phrase file', 'notes.txt', dir);
    const single = write('language: pl\nwords:\n  self: [siebie]\ncategories:\n  suicide:\n    "zabic @self": 20\n');
    expect(phraseFilesAt(dir)).toEqual([a, b]);
    expect(phraseFilesAt(single)).toEqual([single]);
    const lex = loadLexicon([dir, single]);
    expect(lex.entries.map((e) => [e.file, e.line, e.phrase, e.weight])).toEqual([[a, 6, 'lean', 10], [b, 4, 'lean', 4], [single, 6, 'zabic @self', 20]]);
    expect(lex.classes.map((k) => [k.name, k.language, k.members])).toEqual([['self', 'en', ['myself']], ['self', 'pl', ['siebie']]]);
  });

  it('reports a class no file defines at the rule\'s file and line, with a fix', () => {
    const defines = write('language: en\nwords:\n  self: [myself]\n');
    const uses = write('language: en\ncategories:\n  suicide:\n    "kill @self": 20\n    "how to @method": 20\n');
    const problems = problemsFrom(() => loadLexicon([defines, uses]));
    expectProblems(problems, uses, [{ line: 5, key: 'categories.suicide', message: '"how to @method": no word class @method' }]);
    expect(problems[0]?.fix).toMatch(/words:/);
    // Defined in a later file is as good as in the same one.
    expect(loadLexicon([uses, write('language: en\nwords:\n  self: [me]\n  method: [hang]\n')]).entries).toHaveLength(2);
  });

  it('refuses a combination whose parts can never fit in its window', () => {
    // "how to" (2 words at its shortest) + "kill" + "my self" (2) need 5 words.
    const file = write('language: en\nwords:\n  how: [how to, ways to]\n  self: [my self, yourself oneself]\ncategories:\n  suicide:\n    "@how + kill + @self": { weight: 20, within: 4 }\n    "@how + kill": { weight: 20, within: 3 }\n');
    const problems = problemsFrom(() => loadLexicon([file]));
    expectProblems(problems, file, [{ line: 7, key: 'categories.suicide', message: '"@how + kill + @self": its parts need at least 5 words, but "within" is 4, so it can never match' }]);
    expect(problems[0]?.fix).toMatch(/within to 5 or more/);
  });

  it('reports problems from every file at once', () => {
    const one = write('language: en\ncategories:\n  drugs:\n    "x": 0\n');
    const two = write('language: en\ncategories:\n  weapons:\n    "knife": 10\n');
    const three = write('language: en\ncategories:\n  suicide:\n    "how to @nowhere": 20\n');
    const problems = problemsFrom(() => loadLexicon([one, two, three]));
    expect(problems.map((p) => [p.file, p.line, p.key])).toEqual([[one, 4, 'categories.drugs.x'], [two, 3, 'categories.weapons'], [three, 4, 'categories.suicide']]);
    expect(problems[2]?.message).toBe('"how to @nowhere": no word class @nowhere');
    expect(problems[2]?.fix).toMatch(/words:/);
  });
});

describe('undefinedClasses and ruleProblem', () => {
  const entry = (phrase: string, line: number): PhraseEntry => ({ category: 'suicide', phrase, weight: 10, language: 'en', file: 'dsl.yaml', line });

  it('undefinedClasses names each rule whose class is missing', () => {
    const classes = [{ name: 'self', members: ['me'], language: 'en', file: 'a.yaml', line: 1 }];
    const problems = undefinedClasses([entry('kill @self', 1), entry('@method + @self', 2), entry('@a + @b', 3)], classes);
    expect(problems.map((p) => [p.file, p.line, p.message])).toEqual([
      ['dsl.yaml', 2, '"@method + @self": no word class @method'],
      ['dsl.yaml', 3, '"@a + @b": no word class @a'],
      ['dsl.yaml', 3, '"@a + @b": no word class @b'],
    ]);
    expect(undefinedClasses([entry('kill @self', 1)], classes)).toEqual([]);
  });

  it('ruleProblem checks a rule the way the files are checked, for the DSL\'s command line', () => {
    expect(ruleProblem('kill myself', { weight: 20 })).toBeNull();
    expect(ruleProblem('@method + @self', { weight: 20, within: 4 })).toBeNull();
    expect(ruleProblem('essay', { weight: -5 })).toBeNull();
    const rows: [string, { weight: number; within?: number }, RegExp][] = [
      ['kill myself', { weight: 0 }, /weight must not be 0/],
      ['kill myself', { weight: 10, within: 3 }, /"within" is for a combination/],
      ['ki*ll', { weight: 10 }, /only allowed at the end of a word/],
      ['@Self', { weight: 10 }, /not a word class name/],
      ['!!!', { weight: 10 }, /no letters or digits/],
    ];
    for (const [phrase, opts, message] of rows) {
      const p = ruleProblem(phrase, opts);
      expect(p?.message, phrase).toMatch(message);
      expect(p?.fix, phrase).toMatch(/\w/);
    }
  });
});
