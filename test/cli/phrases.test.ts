// `schoolgate phrases` end to end: the real command in a child process on a real data folder;
// its checks, exit codes, rows and audit rows; and a running `schoolgate start` that raises an
// alert for a search with a phrase the DSL added, and stops when the DSL lowers or removes it,
// without a restart. The phrase file is the test's own (synthetic words), so the shipped lists
// can change without changing what is tested here.
import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { main } from '../../src/cli/main.js';
import { AuditLog } from '../../src/store/audit.js';
import { schoolgate, spawnSchoolgate, type Run } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, viaProxy, writeTestConfig } from '../helpers/proxy.js';
import { journalled } from '../helpers/alerts.js';
import { eventually } from '../helpers/raw-http.js';

const tmp = tempDir('schoolgate-phrases-cli-');
const PHRASES = `language: en
words:
  pal: [friend, mate]
categories:
  bullying:
    "plinth wobble": 15
  self-harm:
    "kloop snarf": 12
`;
let configFile = '';

beforeAll(() => {
  const phraseFile = join(tmp.dir, 'test-phrases.yaml');
  writeFileSync(phraseFile, PHRASES);
  const networks = 'proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    www.google.com: 127.0.0.1\n';
  configFile = writeTestConfig(tmp.dir, `phrases:\n  threshold: 10\n  files:\n    - ${phraseFile}\n${networks}`);
});

afterAll(() => tmp.cleanup());

/** A data folder with an alerts database, as Schoolgate leaves it after its first start. */
function freshData(name: string): string {
  const data = join(tmp.dir, name);
  openAlertsDatabase(data).close();
  return data;
}

/** Runs each in turn (a CPU shared by other tests), their results in order. */
async function sequence<T>(steps: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const step of steps) out.push(await step());
  return out;
}

const readOnly = <T>(file: string, read: (db: BetterSqlite3.Database) => T): T => {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
};

describe('schoolgate phrases', () => {
  const data = freshData('data-cli');
  const run = (...args: string[]): Promise<Run> => schoolgate([...args, '--config', configFile, '--data', data], { env: { SCHOOLGATE_ACTOR: 'dsl.jane' } });
  /** The same command in this process (its entry point, main()): many refusals, without a process each. */
  const here = async (...args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const line = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);
    const code = await main([...args, '--config', configFile, '--data', data], { out: (t) => void (stdout += line(t)), err: (t) => void (stderr += line(t)) });
    return { code, stdout, stderr };
  };
  const rows = () => readOnly(join(data, 'alerts.db'), (db) => db.prepare('SELECT id, category, phrase, weight, within, intent, reason, created_by AS "by", removed_at IS NOT NULL AS removed, removed_by AS removedBy FROM phrase_changes ORDER BY id').all());
  const audit = () => readOnly(join(data, 'schoolgate.db'), (db) => new AuditLog(db).list({ limit: 100 }).reverse());

  it('adds, re-weights and removes, each change with its audit row as the person running it', async () => {
    const added = await run('phrases', 'add', 'zorblax quiggle', '--category', 'bullying', '--weight', '12', '--reason', 'year 8 slang');
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect(added.stdout).toBe('added "zorblax quiggle" to bullying with weight 12 (change 1): a running Schoolgate uses it within half a second, usually a tenth.\n');
    const combo = await run('phrases', 'add', '@pal + zorbfoo', '--category', 'self-harm', '--weight', '20', '--within', '3', '--intent', '--reason', 'new algospeak', '--json');
    expect(combo.code).toBe(0);
    expect(JSON.parse(combo.stdout)).toMatchObject({ change: { id: 2, category: 'self-harm', phrase: '@pal + zorbfoo', weight: 20, within: 3, intent: true, by: 'dsl.jane' }, previous: null, shipped: null });
    // Another spelling of the same phrase is the same phrase; a negative weight may follow the option.
    const lowered = await run('phrases', 'weight', 'Zorblax  QUIGGLE', '--category', 'bullying', '--weight', '-5', '--reason', 'only ever used as a joke here');
    expect([lowered.code, lowered.stdout]).toEqual([0, '"zorblax quiggle" in bullying now has weight -5 (change 3), instead of the DSL\'s weight 12 (change 1): a running Schoolgate uses it within half a second, usually a tenth.\n']);
    // A shipped phrase: lowered, then given back its shipped weight by removing the DSL's.
    const quiet = await run('phrases', 'weight', 'plinth wobble', '--category', 'bullying', '--weight', '3', '--reason', 'a PE lesson word');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('"plinth wobble" in bullying now has weight 3 (change 4), instead of the shipped weight 15 (test-phrases.yaml:6): a running Schoolgate uses it within half a second, usually a tenth. On its own it stays below the threshold of 10: it raises an alert only with other phrases.\n');
    const back = await run('phrases', 'remove', 'plinth wobble', '--category', 'bullying', '--reason', 'the PE unit is over');
    expect([back.code, back.stdout]).toEqual([0, 'removed the DSL\'s weight 3 for "plinth wobble" in bullying (change 4): its shipped weight 15 (test-phrases.yaml:6) applies again; a running Schoolgate stops using it within half a second, usually a tenth\n']);

    expect(rows()).toEqual([
      { id: 1, category: 'bullying', phrase: 'zorblax quiggle', weight: 12, within: null, intent: 0, reason: 'year 8 slang', by: 'dsl.jane', removed: 1, removedBy: 'dsl.jane' },
      { id: 2, category: 'self-harm', phrase: '@pal + zorbfoo', weight: 20, within: 3, intent: 1, reason: 'new algospeak', by: 'dsl.jane', removed: 0, removedBy: null },
      { id: 3, category: 'bullying', phrase: 'zorblax quiggle', weight: -5, within: null, intent: 0, reason: 'only ever used as a joke here', by: 'dsl.jane', removed: 0, removedBy: null },
      { id: 4, category: 'bullying', phrase: 'plinth wobble', weight: 3, within: null, intent: 0, reason: 'a PE lesson word', by: 'dsl.jane', removed: 1, removedBy: 'dsl.jane' },
    ]);
    expect(audit().map((r) => [r.actor, r.action, r.subject, r.detail.phrase, r.detail.weight, r.detail.reason])).toEqual([
      ['dsl.jane', 'phrase.added', 'phrase change 1', 'zorblax quiggle', 12, 'year 8 slang'],
      ['dsl.jane', 'phrase.added', 'phrase change 2', '@pal + zorbfoo', 20, 'new algospeak'],
      ['dsl.jane', 'phrase.weighted', 'phrase change 3', 'zorblax quiggle', -5, 'only ever used as a joke here'],
      ['dsl.jane', 'phrase.weighted', 'phrase change 4', 'plinth wobble', 3, 'a PE lesson word'],
      ['dsl.jane', 'phrase.removed', 'phrase change 4', 'plinth wobble', 3, 'the PE unit is over'],
    ]);
    expect(audit()[2]!.detail).toMatchObject({ from: 12, replaces: 1 });
    expect(audit()[3]!.detail).toMatchObject({ from: 15, shipped: expect.stringMatching(/test-phrases\.yaml:6$/) });
    const verified = await run('audit', 'verify');
    expect(verified.code).toBe(0);
  });

  it('refuses what cannot be done with exit 1, and bad input with exit 2, each saying what to do; nothing is written', async () => {
    const before = { rows: rows().length, audit: audit().length };
    const refused = await sequence([
      () => here('phrases', 'add', 'zorblax quiggle', '--category', 'bullying', '--weight', '12', '--reason', 'again'),
      () => here('phrases', 'add', 'Plinth Wobble', '--category', 'bullying', '--weight', '12', '--reason', 'again'),
      () => here('phrases', 'weight', 'never listed', '--category', 'bullying', '--weight', '12', '--reason', 'r'),
      () => here('phrases', 'weight', 'zorblax quiggle', '--category', 'bullying', '--weight', '-5', '--reason', 'same again'),
      () => here('phrases', 'remove', 'plinth wobble', '--category', 'bullying', '--reason', 'r'),
      () => here('phrases', 'remove', 'never listed', '--category', 'bullying', '--reason', 'r'),
    ]);
    expect(refused.map((r) => r.code)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(refused.map((r) => r.stderr.trimEnd())).toEqual([
      'schoolgate phrases: "zorblax quiggle" is already one of the DSL\'s bullying phrases (weight -5, change 3): change its weight with schoolgate phrases weight',
      expect.stringMatching(/^schoolgate phrases: "plinth wobble" is already a bullying phrase \(.*test-phrases\.yaml:6, weight 15\): change its weight with schoolgate phrases weight$/),
      'schoolgate phrases: "never listed" is not a bullying phrase: add it with schoolgate phrases add',
      'schoolgate phrases: "zorblax quiggle" already has weight -5 in bullying: nothing to change',
      expect.stringMatching(/^schoolgate phrases: "plinth wobble" is a shipped phrase \(.*test-phrases\.yaml:6\), which cannot be removed: quieten it with schoolgate phrases weight "plinth wobble" --category bullying --weight N --reason TEXT, giving it a small or a negative weight$/),
      'schoolgate phrases: "never listed" is not a bullying phrase: nothing to remove (schoolgate phrases list --category bullying shows them)',
    ]);

    const usage = await sequence([
      () => here('phrases', 'add', 'new words', '--category', 'gossip', '--weight', '12', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '0', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '101', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', 'ten', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '12'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '12', '--reason', '   '),
      () => here('phrases', 'add', 'new *words', '--category', 'bullying', '--weight', '12', '--reason', 'r'),
      () => here('phrases', 'add', '@nosuch + words', '--category', 'bullying', '--weight', '12', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '12', '--within', '3', '--reason', 'r'),
      () => here('phrases', 'add', 'new words', '--category', 'bullying', '--weight', '12', '--language', 'English', '--reason', 'r'),
      () => here('phrases', 'weight', 'zorblax quiggle', '--category', 'bullying', '--weight', '12', '--intent', '--reason', 'r'),
      () => here('phrases', 'add', '--category', 'bullying', '--weight', '12', '--reason', 'r'),
    ]);
    expect(usage.map((r) => r.code)).toEqual(Array(12).fill(2));
    expect(usage.map((r) => r.stderr.trimEnd())).toEqual([
      'schoolgate phrases: --category: "gossip" is not a phrase category: use one of suicide, self-harm, extremism, bullying, grooming, adult, drugs, violence, crime',
      'schoolgate phrases: "new words": weight must not be 0: use a positive weight to raise the score, a negative one to lower it, or remove the line',
      'schoolgate phrases: "new words": weight 101 is out of range: use a number from -100 to 100, not 0',
      'schoolgate phrases: --weight: "ten" is not a number: use a number from -100 to 100, not 0',
      'schoolgate phrases: phrases add needs --reason',
      'schoolgate phrases: "new words": a reason is required: say why with --reason TEXT (it is kept with the phrase and in the audit row)',
      expect.stringMatching(/^schoolgate phrases: "new \*words": '\*' is only allowed at the end of a word: write a word prefix as "suicid\*"$/),
      expect.stringMatching(/^schoolgate phrases: "@nosuch \+ words": no word class @nosuch: define it under "words:" in a phrase file/),
      'schoolgate phrases: "new words": "within" is for a combination: join two or more parts with " + ", or drop "within"',
      'schoolgate phrases: "new words": "English" is not a language tag: use a lower-case language tag such as en, pl or ur-latn',
      'schoolgate phrases: --intent does not go with phrases weight',
      'schoolgate phrases: phrases add needs the phrase, in quotes: schoolgate phrases add "PHRASE" …',
    ]);
    expect({ rows: rows().length, audit: audit().length }).toEqual(before);
  });

  it('lists the shipped phrases with file and line and the DSL\'s with who and why, marking which replaces which', async () => {
    const listed = await run('phrases', 'list', '--json');
    expect(listed.code).toBe(0);
    const json = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(json).toEqual([
      expect.objectContaining({ category: 'self-harm', phrase: 'kloop snarf', weight: 12, source: 'file', file: 'test-phrases.yaml', line: 8, inForce: true, replacedBy: null }),
      expect.objectContaining({ category: 'self-harm', phrase: '@pal + zorbfoo', weight: 20, within: 3, intent: true, source: 'dsl', change: 2, by: 'dsl.jane', reason: 'new algospeak', inForce: true, replaces: null }),
      expect.objectContaining({ category: 'bullying', phrase: 'plinth wobble', weight: 15, source: 'file', line: 6, inForce: true }),
      expect.objectContaining({ category: 'bullying', phrase: 'zorblax quiggle', weight: -5, source: 'dsl', change: 3, inForce: true }),
    ]);
    // A DSL weight over a shipped phrase: the file's line is marked replaced, the DSL's row says what it replaces.
    await run('phrases', 'weight', 'kloop snarf', '--category', 'self-harm', '--weight', '4', '--reason', 'a class novel\'s word');
    const table = await run('phrases', 'list', '--category', 'self-harm');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    expect(lines[0]).toEqual(['category', 'phrase', 'weight', 'from', 'note']);
    expect(lines.slice(1)).toEqual([
      ['self-harm', 'kloop snarf', '12', 'test-phrases.yaml:8', 'replaced by DSL change 5'],
      ['self-harm', '@pal + zorbfoo (within 3) (intent)', '20', expect.stringMatching(/^DSL change 2, dsl\.jane, \d{4}-\d\d-\d\d \d\d:\d\d: new algospeak$/)],
      ['self-harm', 'kloop snarf', '4', expect.stringMatching(/^DSL change 5, dsl\.jane, .*: a class novel's word$/), 'replaces test-phrases.yaml:8 (weight 12)'],
    ]);
  });

  it('shows, in classify\'s evidence, a DSL phrase as the DSL\'s: who added it and when', async () => {
    const r = await here('classify', 'https://www.google.com/search?q=my+mate+zorbfoo+kloop+snarf');
    expect(r.code).toBe(0);
    const evidence = r.stdout.split('\n').filter((l) => l.startsWith('  self-harm'));
    expect(evidence).toEqual([
      expect.stringMatching(/^ {2}self-harm +search +\+20 intent {2}"@pal \+ zorbfoo" {2}<- "mate … zorbfoo" {2}\(DSL dsl\.jane, \d{4}-\d\d-\d\d \d\d:\d\d UTC, phrase change:2\)$/),
      // A shipped phrase the DSL re-weighted: the DSL's weight, and the DSL's name on it, not the file's.
      expect.stringMatching(/^ {2}self-harm +search +\+4 {2}"kloop snarf" {2}<- "kloop snarf" {2}\(DSL dsl\.jane, .* UTC, phrase change:5\)$/),
    ]);
  });

  it('says the data folder is wrong rather than make a database there', async () => {
    const r = await schoolgate(['phrases', 'add', 'new words', '--category', 'bullying', '--weight', '12', '--reason', 'r', '--config', configFile, '--data', join(tmp.dir, 'no-such-data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^schoolgate phrases: no alerts database at .*no-such-data\/alerts\.db: is --data right\?/);
  });
});

describe('a running Schoolgate', () => {
  let origin: http.Server;
  let originPort = 0;
  const data = freshData('data-live');
  const run = (...args: string[]): Promise<Run> => schoolgate([...args, '--config', configFile, '--data', data], { env: { SCHOOLGATE_ACTOR: 'dsl.jane' } });
  const raisedSoFar = (category: string): number => readOnly(join(data, 'alerts.db'), (db) => (db.prepare('SELECT COALESCE(SUM(count), 0) AS n FROM alerts WHERE category = ?').get(category) as { n: number }).n);

  beforeAll(async () => {
    ({ server: origin, port: originPort } = await startOrigin());
  });
  afterAll(async () => {
    await closeAll(origin);
  });

  it('raises an alert for a phrase the DSL added, and stops when it is lowered or removed, without a restart; a reload keeps it', async () => {
    const p = spawnSchoolgate(['start', '--config', configFile, '--data', data, '--port', '0', '--admin-port', '0']);
    try {
      const port = (JSON.parse(await p.waitFor(/Schoolgate is running/)) as { port: number }).port;
      /**
       * One search through the proxy; true when it raised (or folded into) a bullying alert. The
       * alert is in the journal before the answer, and in alerts.db moments later.
       */
      const raises = async (q: string): Promise<boolean> => {
        const before = raisedSoFar('bullying');
        const entries = journalled(data).length;
        const answer = await viaProxy(port, `http://www.google.com:${originPort}/search?q=${q.replaceAll(' ', '+')}`);
        expect(answer.status).toBe(200);
        if (!journalled(data).slice(entries).flat().includes('bullying')) return false;
        expect(await eventually(() => raisedSoFar('bullying') > before)).toBe(true);
        return true;
      };
      /**
       * Runs the command, then waits for the running Schoolgate to say it uses the DSL's phrases
       * as they now are: its log line names them by phraseSignature() (in force / newest change).
       */
      const changeThenPickUp = async (signature: string, ...args: string[]): Promise<Record<string, unknown>> => {
        const from = p.lines();
        expect((await run('phrases', ...args)).code).toBe(0);
        const line = await p.waitFor(new RegExp(`"signature":"${signature}".*"msg":"DSL phrases changed: now in use"`), from - 1);
        return JSON.parse(line) as Record<string, unknown>;
      };

      expect(await raises('zorblax quiggle')).toBe(false);
      expect(await changeThenPickUp('1/1', 'add', 'zorblax quiggle', '--category', 'bullying', '--weight', '12', '--reason', 'year 8 slang')).toMatchObject({ dslPhrases: 1 });
      expect(await raises('zorblax quiggle')).toBe(true);

      // A reload (SIGHUP) builds the phrases again from the files: the DSL's are still there.
      const from = p.lines();
      p.child.kill('SIGHUP');
      expect(JSON.parse(await p.waitFor(/"msg":"lists reloaded"/, from - 1))).toMatchObject({ dslPhrases: 1 });
      expect(await raises('zorblax quiggle')).toBe(true);

      await changeThenPickUp('1/2', 'weight', 'zorblax quiggle', '--category', 'bullying', '--weight', '-5', '--reason', 'a joke word after all');
      expect(await raises('zorblax quiggle')).toBe(false);
      await changeThenPickUp('1/3', 'weight', 'zorblax quiggle', '--category', 'bullying', '--weight', '15', '--reason', 'it is back as an insult');
      expect(await raises('zorblax quiggle')).toBe(true);

      // A shipped phrase quietened by the DSL, then given its weight back.
      expect(await raises('plinth wobble')).toBe(true);
      expect(await changeThenPickUp('2/4', 'weight', 'plinth wobble', '--category', 'bullying', '--weight', '1', '--reason', 'a PE lesson word')).toMatchObject({ dslPhrases: 2 });
      expect(await raises('plinth wobble')).toBe(false);
      expect(await raises('zorblax quiggle')).toBe(true);

      await changeThenPickUp('1/4', 'remove', 'zorblax quiggle', '--category', 'bullying', '--reason', 'gone out of use');
      expect(await raises('zorblax quiggle')).toBe(false);
      expect(await raises('plinth wobble')).toBe(false);
      expect(await changeThenPickUp('', 'remove', 'plinth wobble', '--category', 'bullying', '--reason', 'the PE unit is over')).toMatchObject({ dslPhrases: 0 });
      expect(await raises('plinth wobble')).toBe(true);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
