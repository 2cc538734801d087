// The labelled safeguarding set (test/fixtures/safeguarding/) as the evaluations read it: the
// search files' rows, checked for their columns and labels. Shared by eval-safeguarding.ts and
// eval-evasions.ts, so both read one set one way.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SAFEGUARDING_CATEGORIES } from '../src/alerts/taxonomy.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURES = join(ROOT, 'test/fixtures/safeguarding');
export const SPLITS = ['dev', 'heldout'] as const;
export type Split = (typeof SPLITS)[number];
export const CONCERNS: readonly string[] = SAFEGUARDING_CATEGORIES;
export const LABEL_SEVERITIES = ['danger', 'caution', 'none'] as const;
export type LabelSeverity = (typeof LABEL_SEVERITIES)[number];

export interface SearchRow {
  readonly split: Split;
  readonly line: number;
  readonly text: string;
  readonly concern: string;
  readonly severity: LabelSeverity;
  readonly lang: string;
  /** Other concerns that are not wrong for this row (raising them is neither a hit nor a false alert). */
  readonly also: readonly string[];
  readonly note: string;
}

/** Ends the evaluation with a message: a broken set must not be measured. */
export function fail(message: string): never {
  console.error(`eval-safeguarding: ${message}`);
  process.exit(2);
}

/** Rows of a TSV file with a header line, as objects keyed by the header; checked for width. */
export function readTsv(file: string, columns: readonly string[]): { line: number; cells: Record<string, string> }[] {
  if (!existsSync(file)) fail(`${file} is missing`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = lines[0]!.split('\t');
  if (columns.some((c, i) => header[i] !== c)) fail(`${file}: the header must be ${columns.join(' ')} (tab-separated), found ${header.join(' ')}`);
  const out: { line: number; cells: Record<string, string> }[] = [];
  lines.slice(1).forEach((l, i) => {
    if (l.trim() === '' || l.startsWith('#')) return;
    const cells = l.split('\t');
    if (cells.length !== columns.length) fail(`${file}:${i + 2}: ${cells.length} columns, expected ${columns.length}`);
    out.push({ line: i + 2, cells: Object.fromEntries(columns.map((c, k) => [c, cells[k]!])) });
  });
  return out;
}

export function checkLabel(where: string, concern: string, severity: string, also: readonly string[]): void {
  if (concern !== 'none' && !CONCERNS.includes(concern)) fail(`${where}: unknown concern "${concern}" (use none or one of ${CONCERNS.join(', ')})`);
  if (!(LABEL_SEVERITIES as readonly string[]).includes(severity)) fail(`${where}: severity "${severity}" must be danger, caution or none`);
  if ((concern === 'none') !== (severity === 'none')) fail(`${where}: concern none goes with severity none, and only with it`);
  for (const a of also) if (!CONCERNS.includes(a)) fail(`${where}: unknown concern "${a}" in also`);
}

export function readSearchFile(file: string, split: Split): SearchRow[] {
  return readTsv(file, ['text', 'concern', 'severity', 'lang', 'also', 'note']).map(({ line, cells }) => {
    const also = cells.also!.split(',').map((s) => s.trim()).filter(Boolean);
    checkLabel(`${file}:${line}`, cells.concern!, cells.severity!, also);
    return { split, line, text: cells.text!, concern: cells.concern!, severity: cells.severity as LabelSeverity, lang: cells.lang!, also, note: cells.note! };
  });
}
