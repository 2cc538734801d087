// The phrase rules compiled in a worker thread and sent back (phrase-build-child.ts,
// worker-transfer.ts) must answer exactly as the same rules compiled in-process: the matcher
// arrives as typed arrays and plain objects, and only gets its methods back on this side.
import { readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileInChild, fingerprintOf, type Compiled } from '../../src/classify/phrase-build-child.js';
import { buildPhraseMatcher, entryKey, type PhraseMatcher } from '../../src/classify/phrases.js';
import { loadConfig } from '../../src/config/load.js';
import { pack, unpack } from '../../src/worker-transfer.js';

const settings = loadConfig('config/default.yaml').phrases;
const searches = readFileSync('test/fixtures/safeguarding/searches.dev.tsv', 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]!);
// Every rule as written, so every rule's parts are looked for, and the dev searches.
const texts = [...settings.entries.map((e) => e.phrase.replaceAll('+', ' ').replaceAll('@', '').replaceAll('*', '')), ...searches];

describe('the shipped rules compiled in a worker', () => {
  let sent: Compiled;
  let here: PhraseMatcher;
  beforeAll(async () => {
    const { fingerprint, compiled } = await compileInChild(settings, null);
    expect(fingerprint).toBe(fingerprintOf(settings));
    sent = compiled!;
    here = buildPhraseMatcher(settings);
  });

  it('answer searches as the rules compiled here do', () => {
    let flagged = 0;
    for (const t of texts) {
      const r = sent.matcher.matchSearch(t);
      expect(r, t).toEqual(here.matchSearch(t));
      if (r.flagged.length > 0) flagged++;
    }
    expect(flagged).toBeGreaterThan(3000);
  });

  it('answer the words of addresses and pages as the rules compiled here do', () => {
    let flagged = 0;
    for (const t of texts) {
      const path = `/${t.replaceAll(' ', '-')}`;
      const r = sent.matcher.matchWords(path);
      expect(r, path).toEqual(here.matchWords(path));
      if (r.flagged.length > 0) flagged++;
    }
    expect(flagged).toBeGreaterThan(3000);
    for (let i = 0; i < texts.length; i += 400) {
      const page = texts.slice(i, i + 400).join('. Some words between them, ');
      const r = sent.matcher.matchPage(page);
      expect(r).toEqual(here.matchPage(page));
      expect(r.hits.length).toBeGreaterThan(0);
    }
  });

  it('come with each entry\'s rule key and the same size, thresholds and vocabulary', () => {
    expect(sent.ruleKeys).toEqual(settings.entries.map(entryKey));
    expect([sent.matcher.size, sent.matcher.forms, sent.matcher.automatonBytes]).toEqual([here.size, here.forms, here.automatonBytes]);
    expect(sent.matcher.thresholdsOf('suicide')).toEqual(here.thresholdsOf('suicide'));
    expect(sent.matcher.vocabulary.nearest('suicde')).toBe(here.vocabulary.nearest('suicde'));
  });

  it('are not compiled when the fingerprint is the one the caller has', async () => {
    await expect(compileInChild(settings, fingerprintOf(settings))).resolves.toEqual({ fingerprint: fingerprintOf(settings), compiled: null, from: 'unchanged', cacheProblem: null });
  });

  it('fail with the error compiling them here throws', async () => {
    const broken = { ...settings, entries: [...settings.entries, { category: 'bullying', phrase: '@no-such-class + zorblax', weight: 12, language: 'en', file: 'broken.yaml', line: 7 }] };
    let thrown: unknown;
    try {
      buildPhraseMatcher(broken);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as Error).message).toMatch(/^broken\.yaml:7: /);
    const rejected = await compileInChild(broken, null).then(() => null, (err: unknown) => err);
    expect(rejected).toBeInstanceOf(RangeError);
    expect((rejected as Error).message).toBe((thrown as Error).message);
  });
});

describe('sending class instances between threads', () => {
  class Point {
    constructor(readonly x: number, readonly ys: Int32Array) {}
    sum(): number {
      return this.ys.reduce((a, b) => a + b, this.x);
    }
  }
  const send = <T>(root: object, classes: (abstract new (...args: never[]) => unknown)[]): T => {
    const { packed, transfer } = pack(root, classes);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ root, packed }, transfer);
    const got = receiveMessageOnPort(port2)!.message as { root: object; packed: typeof packed };
    port1.close();
    return unpack<T>(got.root, got.packed, classes);
  };

  it('gives instances their class back, keeps shared ones shared and transfers their arrays', () => {
    const shared = new Point(1, Int32Array.of(2, 3));
    const root = { a: shared, list: [shared, new Point(4, new Int32Array(0))], byName: new Map([['p', shared]]) };
    const got = send<typeof root>(root, [Point]);
    expect(got.a).toBeInstanceOf(Point);
    expect(got.a.sum()).toBe(6);
    expect(got.list[0]).toBe(got.a);
    expect(got.byName.get('p')).toBe(got.a);
    expect(got.list[1]!.sum()).toBe(4);
    // Transferred, not copied: the sender's array is gone.
    expect(shared.ys.length).toBe(0);
  });

  it('refuses what would not arrive as it was, naming where it is', () => {
    class Other {}
    expect(() => pack({ a: [{ b: new Other() }] }, [Point])).toThrow('.a[0].b is a Other, which is not among the classes that may be sent');
    expect(() => pack({ f: { g: () => 1 } }, [])).toThrow('.f.g is a function');
    expect(() => pack({ b: Buffer.from('x') }, [])).toThrow('.b is a Buffer');
  });
});
