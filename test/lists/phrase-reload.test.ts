// A running Schoolgate's reload of changed phrase files: the rules are compiled in a worker
// thread and swapped in; a file that does not load leaves the rules in use serving, with the
// problem logged by file and line; files whose text did not change are not parsed again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { basePhrases } from '../../src/classify/phrase-overlay.js';
import { ListService } from '../../src/lists/service.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

const configFile = join(tmp.dir, 'schoolgate.yaml');
writeFileSync(configFile, [
  `categories: ${CONFIG}/categories.yaml`,
  'lists:',
  '  sources: []',
  `search: {engines: ${CONFIG}/search-engines.yaml}`,
  'phrases:',
  '  files: [phrases/]',
].join('\n'));
const phrases = join(tmp.dir, 'phrases');
const bullying = join(phrases, 'bullying.yaml');
const drugs = join(phrases, 'drugs.yaml');
const phraseFile = (category: string, rules: Record<string, number>): string => [
  'language: en',
  'categories:',
  `  ${category}:`,
  ...Object.entries(rules).map(([phrase, weight]) => `    "${phrase}": ${weight}`),
].join('\n');

/** A logger whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: { msg: string; err?: string }[] } {
  const lines: { msg: string; err?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as { msg: string; err?: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

const search = (q: string): string => `https://www.google.com/search?q=${encodeURIComponent(q)}`;

describe('a reload of changed phrase files', () => {
  mkdirSync(phrases, { recursive: true });
  writeFileSync(bullying, phraseFile('bullying', { 'zorblax quiggle': 12 }));
  writeFileSync(drugs, phraseFile('drugs', { 'plimsoll juice': 12 }));
  const { log, lines } = capturedLog();
  let service: ListService;

  it('swaps in the changed rules, compiled again; the unchanged file is not parsed again', async () => {
    service = await ListService.start({ configFile, dataDir: join(tmp.dir, 'data'), log });
    const before = service.classifier;
    const compiled = basePhrases(service.config.phrases);
    const drugEntry = service.config.phrases.entries.find((e) => e.category === 'drugs')!;
    expect(before.classify(search('zorblax quiggle')).flagged).toMatchObject([{ category: 'bullying' }]);
    expect(before.classify(search('snorfle blat')).flagged).toEqual([]);

    writeFileSync(bullying, phraseFile('bullying', { 'snorfle blat': 12 }));
    expect(await service.reload('test')).toBe(true);

    const after = service.classifier;
    expect(after.classify(search('snorfle blat')).flagged).toMatchObject([{ category: 'bullying' }]);
    expect(after.classify(search('zorblax quiggle')).flagged).toEqual([]);
    expect(after.classify(search('plimsoll juice')).flagged).toMatchObject([{ category: 'drugs' }]);
    expect(basePhrases(service.config.phrases)).not.toBe(compiled);
    // drugs.yaml's text did not change: what was read of it is used again, not read anew.
    expect(service.config.phrases.entries.find((e) => e.category === 'drugs')).toBe(drugEntry);
    // Requests that started on the old snapshot still get the old rules.
    expect(before.classify(search('zorblax quiggle')).flagged).toMatchObject([{ category: 'bullying' }]);
  });

  it('compiles nothing again when the phrase files did not change', async () => {
    const compiled = basePhrases(service.config.phrases);
    const config = service.config;
    expect(await service.reload('test')).toBe(true);
    expect(service.config).not.toBe(config);
    expect(basePhrases(service.config.phrases)).toBe(compiled);
  });

  it('keeps the rules in use when a changed file does not load, and logs the file, the line and why', async () => {
    const before = service.classifier;
    const config = service.config;
    lines.length = 0;
    writeFileSync(bullying, phraseFile('bullying', { 'snorfle blat': 12, 'wibble wobble': 0 }));
    expect(await service.reload('test')).toBe(false);

    expect(service.classifier).toBe(before);
    expect(service.config).toBe(config);
    expect(service.classifier.classify(search('snorfle blat')).flagged).toMatchObject([{ category: 'bullying' }]);
    const failed = lines.filter((l) => l.msg === 'reload failed: the previous configuration and lists stay in use');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.err).toContain(`${bullying}:5: `);
    expect(failed[0]!.err).toContain('weight must not be 0');

    // Put right, it loads.
    writeFileSync(bullying, phraseFile('bullying', { 'snorfle blat': 12, 'wibble wobble': 12 }));
    expect(await service.reload('test')).toBe(true);
    expect(service.classifier.classify(search('wibble wobble')).flagged).toMatchObject([{ category: 'bullying' }]);
  });
});
