// Reading a user import file: RFC 4180 CSV with a header row naming the columns. Only reading;
// what each row means (and the audit of it) stays with UserStore.importCsv.

export interface ImportError {
  /** 1-based line of the CSV file where the record starts. */
  readonly line: number;
  readonly message: string;
}

export interface ImportResult {
  readonly added: number;
  readonly updated: number;
  readonly errors: ImportError[];
}

/** yes/no, true/false, 1/0, y/n; null when it is none of those. */
export function parseFlag(s: string): boolean | null {
  const v = s.toLowerCase();
  if (['1', 'yes', 'y', 'true'].includes(v)) return true;
  if (['0', 'no', 'n', 'false'].includes(v)) return false;
  return null;
}

const CSV_COLUMNS = ['username', 'group', 'password', 'name', 'shared'] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

export function readHeader(header: CsvRecord): ({ count: number } & Partial<Record<CsvColumn, number>>) | { error: string } {
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const columns: { count: number } & Partial<Record<CsvColumn, number>> = { count: names.length };
  for (const [i, n] of names.entries()) {
    if (!(CSV_COLUMNS as readonly string[]).includes(n)) {
      return { error: `the header row must name the columns username, group, password and optionally name and shared; column ${i + 1} is "${n.slice(0, 40)}"${i < 3 ? ' (is the header row missing?)' : ''}` };
    }
    if (columns[n as CsvColumn] !== undefined) return { error: `the header row names "${n}" twice` };
    columns[n as CsvColumn] = i;
  }
  const missing = (['username', 'group', 'password'] as const).filter((c) => columns[c] === undefined);
  if (missing.length) return { error: `the header row has no ${missing.join(', ')} column` };
  return columns;
}

export interface CsvRecord {
  /** The line the record starts on, from 1. */
  readonly line: number;
  readonly fields: string[];
  /** Why the record cannot be read. */
  readonly error?: string;
}

/**
 * RFC 4180 CSV: commas, double-quoted fields with "" for a quote and line breaks inside quotes,
 * CRLF or LF, an optional UTF-8 byte-order mark (Excel). Blank rows are skipped. A record with
 * text after a closing quote carries an error; an unterminated quote swallows the rest of the
 * file, so it ends the parse with an error on the line it opened.
 */
export function parseCsv(input: string): { records: CsvRecord[]; error?: ImportError } {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let line = 1;
  let start = 1;
  let fields: string[] = [];
  let field = '';
  let error: string | undefined;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    if (error !== undefined || fields.some((f) => f.trim() !== '')) records.push({ line: start, fields, ...(error !== undefined ? { error } : {}) });
    fields = [];
    field = '';
    error = undefined;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field.trim() === '' && error === undefined) {
      const open = line;
      field = '';
      i++;
      for (;;) {
        if (i >= text.length) return { records, error: { line: open, message: 'a double quote opened on this line is never closed: this line and the rest of the file were not read' } };
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      while (text[i] === ' ' || text[i] === '\t') i++;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        error = 'text after a closing double quote: put the whole field in quotes, and write a quote inside it as ""';
      }
      continue;
    }
    if (c === ',') { fields.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n' || c === '\r') { endRecord(); line++; start = line; i++; continue; }
    field += c;
    i++;
  }
  if (field !== '' || fields.length > 0 || error !== undefined) endRecord();
  return { records };
}
