// The DSL's phrases in a running Schoolgate's list service, in-process: loaded with the lists,
// kept by a reload, swapped in when another connection (the CLI) changes them — picked up by
// the watcher's own timer, awaited by its 'changed' event — and a bad row (written by hand)
// left out with a warning while everything else keeps working.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { PhraseChanges } from '../../src/alerts/dsl-phrases.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { LivePhrases, type PhrasesChanged } from '../../src/lists/live-phrases.js';
import { ListService } from '../../src/lists/service.js';
import { openDatabase } from '../../src/store/db.js';
import { tempDir } from '../helpers/lists.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir('schoolgate-live-phrases-');
let configFile = '';
let config: SchoolgateConfig;
const logged: Record<string, unknown>[] = [];
const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });

beforeAll(() => {
  const phraseFile = join(tmp.dir, 'test-phrases.yaml');
  writeFileSync(phraseFile, 'language: en\nwords:\n  pal: [friend, mate]\ncategories:\n  bullying:\n    "plinth wobble": 15\n');
  configFile = writeTestConfig(tmp.dir, `phrases:\n  threshold: 10\n  files:\n    - ${phraseFile}\n`);
  config = loadConfig(configFile);
});
afterAll(() => tmp.cleanup());

/** The categories a search for `q` raises in the service's classifier now. */
function flags(service: ListService, q: string): string[] {
  return service.classifier.classify(`https://www.google.com/search?q=${q.replaceAll(' ', '+')}`).flagged.map((f) => f.category);
}

/** The CLI's side: its own connections to the data folder's databases. */
function asTheCli<T>(data: string, change: (c: PhraseChanges) => T): T {
  const alerts = openAlertsDatabase(data);
  const main = openDatabase(data);
  try {
    return change(new PhraseChanges({ alerts, main, phrases: config.phrases, actor: 'dsl.jane' }));
  } finally {
    alerts.close();
    main.close();
  }
}

/** A row written behind the CLI's back (by hand, or by another version), unchecked. */
function writeByHand(data: string, category: string, phrase: string, weight: number): void {
  const db = openAlertsDatabase(data);
  try {
    db.prepare('INSERT INTO phrase_changes (category, phrase, phrase_key, weight, language, reason, created_by, created_at) VALUES (?, ?, ?, ?, \'en\', \'by hand\', \'root\', 0)')
      .run(category, phrase, `${phrase} ${Math.random()}`, weight);
  } finally {
    db.close();
  }
}

describe('the DSL\'s phrases in the list service', () => {
  it('are loaded with the lists, kept by a reload, and swapped in when the CLI changes them', async () => {
    const data = join(tmp.dir, 'data-1');
    asTheCli(data, (c) => c.add({ category: 'bullying', phrase: 'zorblax quiggle', weight: 12, language: 'en', reason: 'slang' }));
    const service = await ListService.start({ configFile, dataDir: data, log });
    expect(flags(service, 'zorblax quiggle')).toEqual(['bullying']);
    expect(logged.find((l) => l.msg === 'lists loaded')).toMatchObject({ dslPhrases: 1 });

    const db = openAlertsDatabase(data);
    const live = new LivePhrases(service, db, log);
    try {
      const before = logged.length;
      live.start();
      // The lists were loaded with these phrases: nothing to build again.
      expect(live.check()).toBe(false);
      expect(logged.slice(before).filter((l) => l.msg === 'DSL phrases changed: now in use')).toEqual([]);
      asTheCli(data, (c) => c.add({ category: 'bullying', phrase: '@pal + snorklet', weight: 10, within: 3, language: 'en', reason: 'a new insult' }));
      expect(live.check()).toBe(true);
      expect(flags(service, 'snorklet mate')).toEqual(['bullying']);
      asTheCli(data, (c) => c.weight({ category: 'bullying', phrase: 'plinth wobble', weight: 2, reason: 'a PE word' }));
      expect(live.check()).toBe(true);
      expect(flags(service, 'plinth wobble')).toEqual([]);
      asTheCli(data, (c) => c.remove({ category: 'bullying', phrase: 'zorblax quiggle', reason: 'out of use' }));
      expect(live.check()).toBe(true);
      expect(flags(service, 'zorblax quiggle')).toEqual([]);
      live.stop();

      // A reload reads the phrases again: the DSL's as they are now come with it.
      asTheCli(data, (c) => c.remove({ category: 'bullying', phrase: 'plinth wobble', reason: 'the PE unit is over' }));
      expect(flags(service, 'plinth wobble')).toEqual([]);
      expect(await service.reload('test')).toBe(true);
      expect(flags(service, 'plinth wobble')).toEqual(['bullying']);
      expect(flags(service, 'snorklet mate')).toEqual(['bullying']);
      expect(flags(service, 'zorblax quiggle')).toEqual([]);
    } finally {
      live.stop();
      db.close();
    }
  });

  it('are picked up on the watcher\'s own timer: an added phrase, a re-weighted shipped one, a removal, each with the DSL\'s evidence', async () => {
    const data = join(tmp.dir, 'data-timer');
    openAlertsDatabase(data).close();
    const service = await ListService.start({ configFile, dataDir: data, log });
    const db = openAlertsDatabase(data);
    const live = new LivePhrases(service, db, log);
    /** Makes the change as the CLI would, then waits for the watcher to say it is in use. */
    const change = async <T>(make: (c: PhraseChanges) => T): Promise<{ made: T; event: PhrasesChanged }> => {
      const changed = once(live, 'changed') as Promise<[PhrasesChanged]>;
      const made = asTheCli(data, make);
      const [event] = await changed;
      return { made, event };
    };
    const hits = (q: string) => service.classifier.classify(`https://www.google.com/search?q=${q.replaceAll(' ', '+')}`).phrases
      .map((h) => ({ phrase: h.phrase, weight: h.weight, file: h.file, line: h.line }));
    try {
      live.start();
      expect(flags(service, 'zorblax quiggle')).toEqual([]);
      const added = await change((c) => c.add({ category: 'bullying', phrase: 'zorblax quiggle', weight: 12, language: 'en', reason: 'slang' }));
      expect(added.event).toMatchObject({ signature: `1/${added.made.change!.id}`, used: 1 });
      expect(flags(service, 'zorblax quiggle')).toEqual(['bullying']);
      // The evidence says whose phrase it is and when it was added (the date as the DSL wrote it, in UTC).
      const at = new Date(added.made.change!.createdAt).toISOString().slice(0, 16).replace('T', ' ');
      expect(hits('zorblax quiggle')).toEqual([{ phrase: 'zorblax quiggle', weight: 12, file: `DSL dsl.jane, ${at} UTC, phrase change`, line: added.made.change!.id }]);

      // A shipped phrase quietened: its file's rule no longer counts, the DSL's weight does.
      expect(hits('plinth wobble')).toEqual([{ phrase: 'plinth wobble', weight: 15, file: expect.stringMatching(/test-phrases\.yaml$/), line: 6 }]);
      const quiet = await change((c) => c.weight({ category: 'bullying', phrase: 'plinth wobble', weight: 2, reason: 'a PE word' }));
      expect(quiet.event).toMatchObject({ used: 2 });
      expect(flags(service, 'plinth wobble')).toEqual([]);
      expect(hits('plinth wobble')).toEqual([{ phrase: 'plinth wobble', weight: 2, file: expect.stringMatching(/^DSL dsl\.jane, /), line: quiet.made.change!.id }]);

      const removed = await change((c) => c.remove({ category: 'bullying', phrase: 'zorblax quiggle', reason: 'out of use' }));
      expect(removed.event).toMatchObject({ used: 1 });
      expect(flags(service, 'zorblax quiggle')).toEqual([]);
      expect(hits('zorblax quiggle')).toEqual([]);

      // The shipped weight back: the file's rule counts again, as the file has it.
      const back = await change((c) => c.remove({ category: 'bullying', phrase: 'plinth wobble', reason: 'the PE unit is over' }));
      expect(back.event).toMatchObject({ signature: '', used: 0 });
      expect(flags(service, 'plinth wobble')).toEqual(['bullying']);
      expect(hits('plinth wobble')).toEqual([{ phrase: 'plinth wobble', weight: 15, file: expect.stringMatching(/test-phrases\.yaml$/), line: 6 }]);
    } finally {
      live.stop();
      db.close();
    }
  });

  it('leave a bad row out with a warning, at start and when swapped in, and keep the rest', async () => {
    const data = join(tmp.dir, 'data-2');
    asTheCli(data, (c) => c.add({ category: 'bullying', phrase: 'zorblax quiggle', weight: 12, language: 'en', reason: 'slang' }));
    writeByHand(data, 'bullying', 'weightless words', 0);
    writeByHand(data, 'gossip', 'no such category', 12);
    const from = logged.length;
    const service = await ListService.start({ configFile, dataDir: data, log });
    expect(flags(service, 'zorblax quiggle')).toEqual(['bullying']);
    expect(flags(service, 'plinth wobble')).toEqual(['bullying']);
    const warned = () => logged.slice(from).filter((l) => l.msg === 'DSL phrase not used').map((l) => l.problem);
    expect(warned()).toEqual([
      expect.stringMatching(/^DSL phrase change 2 \("weightless words" in bullying\) left out: .*weight must not be 0/),
      expect.stringMatching(/^DSL phrase change 3 \("no such category" in gossip\) left out: unknown category "gossip"/),
    ]);

    const db = openAlertsDatabase(data);
    const live = new LivePhrases(service, db, log);
    try {
      live.start();
      writeByHand(data, 'bullying', '@nosuch + words', 12);
      asTheCli(data, (c) => c.add({ category: 'bullying', phrase: 'snorklet', weight: 11, language: 'en', reason: 'a new insult' }));
      expect(live.check()).toBe(true);
      expect(flags(service, 'snorklet')).toEqual(['bullying']);
      expect(flags(service, 'zorblax quiggle')).toEqual(['bullying']);
      expect(warned().at(-1)).toMatch(/^DSL phrase change 4 \("@nosuch \+ words" in bullying\) left out: .*no word class @nosuch/);
    } finally {
      live.stop();
      db.close();
    }
  });
});
