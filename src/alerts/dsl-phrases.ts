// The DSL's own safeguarding phrases (data/alerts.db, phrase_changes): added, re-weighted and
// removed from the command line, each change in one transaction with its audit row, and laid
// over the shipped phrase files by a running Schoolgate (src/lists/live-phrases.ts): compiled
// on their own and matched with the files' (src/classify/phrase-overlay.ts), so a change costs
// milliseconds, not a compile of the files' thousands of rules.
//
// A shipped phrase is never removed here: the files are the school's reviewed starter lists,
// and the DSL quietens one by giving it a smaller or a negative weight, which can itself be
// removed later to bring the shipped weight back.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { phraseKey, phraseProblems, type PhraseInput, type PhraseProblem } from '../classify/phrase-check.js';
import { classesOf, parseRule } from '../classify/phrase-rules.js';
import { basePhrases, compileOverlay, layeredPhrases, type PhraseEngine } from '../classify/phrase-overlay.js';
import type { PhraseEntry, PhraseSettings } from '../classify/phrases.js';
import type { WordClassEntry } from '../classify/phrase-file.js';
import { AuditLog, processActor, type AuditEntry } from '../store/audit.js';
import { ALERTS_FILE } from './db.js';

/**
 * Stands in for a file name in a DSL phrase's entry, and says whose it is (the evidence `classify`
 * and alerts show is file:line): "DSL dsl.jane, 2026-12-07 09:30 UTC, phrase change:12", the line
 * being the row's id.
 */
export function dslPhraseSource(p: Pick<DslPhrase, 'createdBy' | 'createdAt'>): string {
  return `DSL ${p.createdBy}, ${new Date(p.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC, phrase change`;
}

export interface DslPhrase {
  readonly id: number;
  readonly category: string;
  readonly phrase: string;
  readonly weight: number;
  readonly language: string;
  readonly within: number | null;
  readonly intent: boolean;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

/** The phrase as given: the input is checked, then the change against what is listed. */
export class PhraseInputError extends Error {
  override readonly name = 'PhraseInputError';
  constructor(readonly problems: readonly PhraseProblem[]) {
    super(problems.map((p) => `${p.message}: ${p.fix}`).join('\n'));
  }
}

/** A change that cannot be made (already listed, not listed, a shipped phrase removed): the CLI exits 1. */
export class PhraseChangeError extends Error {
  override readonly name = 'PhraseChangeError';
}

interface Row {
  id: number; category: string; phrase: string; weight: number; language: string; within: number | null; intent: number;
  reason: string; created_by: string; created_at: number;
}

const COLUMNS = 'id, category, phrase, weight, language, within, intent, reason, created_by, created_at';

function toPhrase(r: Row): DslPhrase {
  return {
    id: r.id, category: r.category, phrase: r.phrase, weight: r.weight, language: r.language, within: r.within, intent: r.intent === 1,
    reason: r.reason, createdBy: r.created_by, createdAt: r.created_at,
  };
}

/** The DSL's phrases in force, oldest change first (a later one wins in the matcher). */
export function phrasesInForce(db: Database): DslPhrase[] {
  return (db.prepare(`SELECT ${COLUMNS} FROM phrase_changes WHERE removed_at IS NULL ORDER BY id`).all() as Row[]).map(toPhrase);
}

/**
 * What the phrase table holds in force, as one value: rows are only ever added or ended, so any
 * add, re-weight or removal changes the count or the newest id. '' for none (or no table yet).
 */
export function phraseSignature(db: Database): string {
  const s = db.prepare('SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM phrase_changes WHERE removed_at IS NULL').get() as { n: number; last: number };
  return s.n === 0 ? '' : `${s.n}/${s.last}`;
}

/** The phrases in force and their signature, read in one transaction so that they agree. */
export function readPhrasesInForce(db: Database): { phrases: DslPhrase[]; signature: string } {
  return db.transaction(() => ({ phrases: phrasesInForce(db), signature: phraseSignature(db) }))();
}

/**
 * phraseProblems for one of the DSL's phrases, given only the word classes it names when they
 * all exist: the same problems, without reading every member of the files' thousand classes
 * (some 30 ms a phrase), which would hold up a running Schoolgate's swap.
 */
export function dslPhraseProblems(e: PhraseInput, classes: readonly WordClassEntry[]): PhraseProblem[] {
  const parsed = parseRule(e.phrase);
  if ('error' in parsed) return phraseProblems(e, classes);
  const names = new Set(classesOf(parsed));
  const named = classes.filter((k) => names.has(k.name));
  return phraseProblems(e, new Set(named.map((k) => k.name)).size === names.size ? named : classes);
}

/** A DSL phrase as the matcher takes it, after the shipped entries. */
export function dslPhraseEntry(p: DslPhrase): PhraseEntry {
  return {
    category: p.category, phrase: p.phrase, weight: p.weight, language: p.language, file: dslPhraseSource(p), line: p.id,
    ...(p.within !== null ? { within: p.within } : {}), ...(p.intent ? { intent: true } : {}),
  };
}

/**
 * The DSL's phrases in force in dataDir's alerts.db, read on a read-only connection of its own
 * (the lists are loaded before the alerts database is opened, and by commands that never open
 * it). No database or no table yet (Schoolgate not started since the upgrade) is no phrases.
 */
export function readDslPhrases(dataDir: string): { phrases: DslPhrase[]; signature: string; problem: string | null } {
  const file = join(dataDir, ALERTS_FILE);
  if (!existsSync(file)) return { phrases: [], signature: '', problem: null };
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'phrase_changes'").get() === undefined) return { phrases: [], signature: '', problem: null };
    return { ...readPhrasesInForce(db), problem: null };
  } catch (err) {
    return { phrases: [], signature: '', problem: `the DSL's phrases in ${file} could not be read (${err instanceof Error ? err.message : String(err)}): the shipped phrases alone are in use` };
  } finally {
    db?.close();
  }
}

/**
 * The configuration's phrases with the DSL's laid over them: the files' compiled once per
 * configuration, the DSL's on their own (a few milliseconds). A DSL row that fails its checks
 * (written by hand, or by a later Schoolgate's rules) is left out and named in `skipped`; if
 * the rest still fail to compile, every DSL row is left out: a bad row never takes the shipped
 * phrases down with it.
 */
export function phraseMatcherWith(settings: PhraseSettings, dsl: readonly DslPhrase[]): { matcher: PhraseEngine; used: number; skipped: string[] } {
  const good: PhraseEntry[] = [];
  const skipped: string[] = [];
  for (const p of dsl) {
    const problem = dslPhraseProblems(asInput(p), settings.classes)[0];
    if (problem) skipped.push(`DSL phrase change ${p.id} ("${p.phrase}" in ${p.category}) left out: ${problem.message}`);
    else good.push(dslPhraseEntry(p));
  }
  try {
    return { matcher: layeredPhrases(settings, good), used: good.length, skipped };
  } catch (err) {
    skipped.push(`every DSL phrase left out, as together they did not compile: ${err instanceof Error ? err.message : String(err)}`);
    return { matcher: basePhrases(settings), used: 0, skipped };
  }
}

export interface PhraseChangeDeps {
  /** data/alerts.db. */
  readonly alerts: Database;
  /** data/schoolgate.db, for the audit chain. */
  readonly main: Database;
  /** The configuration's phrases (config.phrases): the files' rules, in load order, and their word classes. */
  readonly phrases: PhraseSettings;
  readonly actor?: string;
  readonly now?: () => number;
}

export interface AddInput {
  readonly category: string;
  readonly phrase: string;
  readonly weight: number;
  readonly language: string;
  readonly within?: number;
  readonly intent?: boolean;
  readonly reason: string;
}

export interface ChangeResult {
  /** The row now in force; null after a removal. */
  readonly change: DslPhrase | null;
  /** The DSL's row it replaced or removed. */
  readonly previous: DslPhrase | null;
  /** The shipped entry for the same phrase, if any (what applies when the DSL's row goes). */
  readonly shipped: PhraseEntry | null;
}

export class PhraseChanges {
  private readonly now: () => number;
  private readonly actor: string;
  private readonly audit: AuditLog;

  constructor(private readonly deps: PhraseChangeDeps) {
    this.now = deps.now ?? Date.now;
    this.actor = deps.actor ?? processActor();
    this.audit = new AuditLog(deps.main, { now: () => new Date(this.now()) });
  }

  /** A phrase the lists do not have yet. */
  add(input: AddInput): ChangeResult {
    this.check(input);
    return this.write(() => {
      const key = phraseKey(input.phrase);
      const mine = this.inForce(input.category, key);
      if (mine) throw new PhraseChangeError(`"${mine.phrase}" is already one of the DSL's ${input.category} phrases (weight ${mine.weight}, change ${mine.id}): change its weight with schoolgate phrases weight`);
      const shipped = this.shippedEntry(input.category, key);
      if (shipped) throw new PhraseChangeError(`"${shipped.phrase}" is already a ${input.category} phrase (${shipped.file}:${shipped.line}, weight ${shipped.weight}): change its weight with schoolgate phrases weight`);
      const change = this.insert(input, key);
      return { result: { change, previous: null, shipped: null }, audit: { action: 'phrase.added', subject: `phrase change ${change.id}`, detail: this.detail(change) } };
    });
  }

  /** A new weight for a phrase already listed, the DSL's own or a shipped one. */
  weight(input: { category: string; phrase: string; weight: number; reason: string }): ChangeResult {
    this.precheck(input);
    return this.write(() => {
      const key = phraseKey(input.phrase);
      const mine = this.inForce(input.category, key);
      const shipped = this.shippedEntry(input.category, key);
      const base = mine ? asInput(mine) : shipped ? fromEntry(shipped) : null;
      if (!base) throw new PhraseChangeError(`"${input.phrase.trim()}" is not a ${input.category} phrase: add it with schoolgate phrases add`);
      if (base.weight === input.weight) throw new PhraseChangeError(`"${base.phrase}" already has weight ${input.weight} in ${input.category}: nothing to change`);
      const next = { ...base, weight: input.weight, reason: input.reason };
      this.check(next);
      if (mine) this.end(mine.id, input.reason);
      const change = this.insert(next, key);
      const detail = { ...this.detail(change), from: base.weight, ...(shipped ? { shipped: `${shipped.file}:${shipped.line}` } : {}), ...(mine ? { replaces: mine.id } : {}) };
      return { result: { change, previous: mine, shipped }, audit: { action: 'phrase.weighted', subject: `phrase change ${change.id}`, detail } };
    });
  }

  /** Takes away the DSL's row for a phrase: its own phrase goes, a shipped one gets its shipped weight back. */
  remove(input: { category: string; phrase: string; reason: string }): ChangeResult {
    this.precheck(input);
    return this.write(() => {
      const key = phraseKey(input.phrase);
      const mine = this.inForce(input.category, key);
      const shipped = this.shippedEntry(input.category, key);
      if (!mine) {
        if (!shipped) throw new PhraseChangeError(`"${input.phrase.trim()}" is not a ${input.category} phrase: nothing to remove (schoolgate phrases list --category ${input.category} shows them)`);
        throw new PhraseChangeError(`"${shipped.phrase}" is a shipped phrase (${shipped.file}:${shipped.line}), which cannot be removed: quieten it with schoolgate phrases weight "${shipped.phrase}" --category ${input.category} --weight N --reason TEXT, giving it a small or a negative weight`);
      }
      this.end(mine.id, input.reason);
      const detail = { category: mine.category, phrase: mine.phrase, weight: mine.weight, reason: input.reason, ...(shipped ? { shipped: `${shipped.file}:${shipped.line}`, shippedWeight: shipped.weight } : {}) };
      return { result: { change: null, previous: mine, shipped }, audit: { action: 'phrase.removed', subject: `phrase change ${mine.id}`, detail } };
    });
  }

  /** What can be said of a weight or removal before looking the phrase up: a usage problem, not a refusal. */
  private precheck(input: { category: string; phrase: string; weight?: number; reason: string }): void {
    const problems = dslPhraseProblems({ ...input, weight: input.weight ?? 1, language: 'en' }, this.deps.phrases.classes).concat(reasonProblems(input.reason));
    if (problems.length > 0) throw new PhraseInputError(problems);
  }

  /** The input's own checks, then the DSL's phrases compiled as a running Schoolgate compiles them. */
  private check(input: AddInput): void {
    const problems = dslPhraseProblems(input, this.deps.phrases.classes).concat(reasonProblems(input.reason));
    if (problems.length > 0) throw new PhraseInputError(problems);
    const entry = dslPhraseEntry({ ...input, id: 0, within: input.within ?? null, intent: input.intent === true, createdBy: this.actor, createdAt: 0 });
    const source = `${entry.file}:0: `;
    try {
      // A bad row already stored is left out here as the running Schoolgate leaves it out: it
      // must not stop the DSL changing other phrases.
      const others = phrasesInForce(this.deps.alerts).filter((p) => dslPhraseProblems(asInput(p), this.deps.phrases.classes).length === 0);
      compileOverlay(this.deps.phrases, [...others.map(dslPhraseEntry), entry]);
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).replace(source, '');
      throw new PhraseInputError([{ message: `with the other phrases it does not compile: ${message}`, fix: 'write it as a line of a phrase file would be written' }]);
    }
  }

  private inForce(category: string, key: string): DslPhrase | null {
    const row = this.deps.alerts.prepare(`SELECT ${COLUMNS} FROM phrase_changes WHERE category = ? AND phrase_key = ? AND removed_at IS NULL`).get(category, key) as Row | undefined;
    return row ? toPhrase(row) : null;
  }

  /** The entry that is in force among the shipped ones: the last for the phrase, as in the matcher. */
  private shippedEntry(category: string, key: string): PhraseEntry | null {
    let found: PhraseEntry | null = null;
    for (const e of this.deps.phrases.entries) if (e.category === category && phraseKey(e.phrase) === key) found = e;
    return found;
  }

  private insert(p: AddInput, key: string): DslPhrase {
    const id = Number(this.deps.alerts.prepare(`INSERT INTO phrase_changes (category, phrase, phrase_key, weight, language, within, intent, reason, created_by, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(p.category, p.phrase.trim(), key, p.weight, p.language, p.within ?? null, p.intent ? 1 : 0, p.reason.trim(), this.actor, this.now()).lastInsertRowid);
    return toPhrase(this.deps.alerts.prepare(`SELECT ${COLUMNS} FROM phrase_changes WHERE id = ?`).get(id) as Row);
  }

  private end(id: number, reason: string): void {
    this.deps.alerts.prepare('UPDATE phrase_changes SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE id = ?').run(this.now(), this.actor, reason.trim(), id);
  }

  private detail(p: DslPhrase): Record<string, unknown> {
    return { category: p.category, phrase: p.phrase, weight: p.weight, language: p.language, within: p.within, intent: p.intent, reason: p.reason };
  }

  /** The change on alerts.db and its audit row on schoolgate.db, inside it: no change without its row. */
  private write<T>(change: () => { result: T; audit: Omit<AuditEntry, 'actor'> }): T {
    return this.deps.alerts.transaction(() => {
      const { result, audit } = change();
      this.deps.main.transaction(() => void this.audit.append({ ...audit, actor: this.actor })).immediate();
      return result;
    }).immediate();
  }
}

function reasonProblems(reason: string): PhraseProblem[] {
  return reason.trim() === '' ? [{ message: 'a reason is required', fix: 'say why with --reason TEXT (it is kept with the phrase and in the audit row)' }] : [];
}

function asInput(p: DslPhrase): AddInput {
  return {
    category: p.category, phrase: p.phrase, weight: p.weight, language: p.language, reason: p.reason,
    ...(p.within !== null ? { within: p.within } : {}), ...(p.intent ? { intent: true } : {}),
  };
}

/** A shipped entry as the base of the DSL's re-weighting: its words, language and combination settings carry over. */
function fromEntry(e: PhraseEntry): AddInput {
  return {
    category: e.category, phrase: e.phrase, weight: e.weight, language: e.language, reason: '',
    ...(e.within !== undefined ? { within: e.within } : {}), ...(e.intent ? { intent: true } : {}),
  };
}
