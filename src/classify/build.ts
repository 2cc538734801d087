// Builds the matcher's data from list files. This is the one place of classify/ that reads
// files; it runs in a child process (build-child.ts) for the full lists, so the proxy's
// event loop keeps answering while 1.7 M entries are parsed.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RE2JS } from 're2js';
import { DomainTableBuilder, type DomainTableData } from './domain-table.js';
import { emptyStats, MAX_EXAMPLES, type ListSpec, type ListStats } from './lists.js';
import {
  forEachEntry, hostsLineNames, isSha256, normaliseListHost, parseUrlEntry, reasonOf, scanHost,
  type SkipReason,
} from './parse-list.js';

export interface UrlRecord {
  readonly key: string;
  /** The entry's key as decoding servers read it (parse-list.ts, UrlEntry.readKey); undefined when it is `key`, so the worker sends each key once. */
  readonly readKey: string | undefined;
  readonly list: number;
  readonly line: number;
}

export interface HashRecord {
  readonly hash: string;
  readonly list: number;
  readonly line: number;
}

export interface ExpressionRecord {
  readonly source: string;
  readonly list: number;
  readonly line: number;
}

export interface MatcherData {
  readonly lists: readonly ListSpec[];
  readonly stats: readonly ListStats[];
  readonly domains: DomainTableData;
  /** URL entries grouped by host; the domain table points each host at its bucket. */
  readonly urlBuckets: readonly (readonly UrlRecord[])[];
  readonly hashes: readonly HashRecord[];
  readonly expressions: readonly ExpressionRecord[];
  readonly buildMs: number;
}

interface Sink {
  readonly table: DomainTableBuilder;
  readonly urls: Map<string, UrlRecord[]>;
  readonly hashes: HashRecord[];
  readonly expressions: ExpressionRecord[];
}

export function buildMatcherData(lists: readonly ListSpec[]): MatcherData {
  const t0 = performance.now();
  const sink: Sink = { table: new DomainTableBuilder(), urls: new Map(), hashes: [], expressions: [] };
  const stats = lists.map((spec, id) => loadList(spec, id, sink));
  const urlBuckets: UrlRecord[][] = [];
  for (const [host, bucket] of sink.urls) sink.table.addUrlHost(host, urlBuckets.push(bucket) - 1);
  return {
    lists, stats, domains: sink.table.finish(), urlBuckets, hashes: sink.hashes, expressions: sink.expressions,
    buildMs: performance.now() - t0,
  };
}

function loadList(spec: ListSpec, id: number, sink: Sink): ListStats {
  const stats = emptyStats(spec);
  const t0 = performance.now();
  for (const file of spec.files) {
    let buf: Buffer;
    try {
      buf = readFileSync(file.path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (file.optional && e.code === 'ENOENT') continue;
      stats.error = `cannot read ${file.path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`;
      continue;
    }
    stats.bytes += buf.length;
    const skip = (line: number, reason: SkipReason, s: number, e: number): void => {
      stats.skipped++;
      stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
      if (stats.examples.length < MAX_EXAMPLES) {
        const text = spec.sensitive ? undefined : printable(buf.subarray(s, Math.min(e, s + 120)));
        stats.examples.push({ file: file.path, line, reason, ...(text === undefined ? {} : { text }) });
      }
    };
    switch (file.kind) {
      case 'domains':
        forEachEntry(buf, (s, e, line) => {
          addDomainBytes(sink.table, buf, s, e, id, line, stats, skip);
        });
        break;
      case 'hosts':
        forEachEntry(buf, (s, e, line) => {
          for (const name of hostsLineNames(buf.toString('utf8', s, e))) {
            addDomainString(sink.table, name, id, line, stats, (reason) => skip(line, reason, s, e));
          }
        });
        break;
      case 'urls':
      case 'iwf':
        forEachEntry(buf, (s, e, line) => {
          const text = buf.toString('utf8', s, e);
          if (BINARY_TEXT.test(text)) return skip(line, 'binary', s, e);
          const page = file.kind === 'iwf';
          const bare = page ? /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/?#]+?)(?::\d+)?$/i.exec(text) : null;
          if (bare) {
            // In an IWF-style list only a bare domain means the whole site; anything else is one page.
            addDomainString(sink.table, bare[1]!, id, line, stats, (reason) => skip(line, reason, s, e));
            return;
          }
          const entry = parseUrlEntry(text, page);
          if (typeof entry === 'string') return skip(line, entry, s, e);
          let bucket = sink.urls.get(entry.host);
          if (!bucket) sink.urls.set(entry.host, (bucket = []));
          bucket.push({ key: entry.key, readKey: entry.readKey === entry.key ? undefined : entry.readKey, list: id, line });
          stats.urls++;
        });
        break;
      case 'sha256':
        forEachEntry(buf, (s, e, line) => {
          const text = buf.toString('latin1', s, e);
          if (!isSha256(text)) return skip(line, 'invalid-hash', s, e);
          sink.hashes.push({ hash: text.toLowerCase(), list: id, line });
          stats.hashes++;
        });
        break;
      case 'expressions':
        forEachEntry(buf, (s, e, line) => {
          const source = buf.toString('utf8', s, e);
          const problem = expressionProblem(source);
          if (problem) return skip(line, problem, s, e);
          sink.expressions.push({ source, list: id, line });
          stats.expressions++;
        });
        break;
    }
  }
  stats.loadMs = performance.now() - t0;
  return stats;
}

function addDomainBytes(
  table: DomainTableBuilder, buf: Uint8Array, s: number, e: number, id: number, line: number,
  stats: ListStats, skip: (line: number, reason: SkipReason, s: number, e: number) => void,
): void {
  // A punycode conversion can be longer than its UTF-8 source, up to the 253-byte name limit.
  const out = table.reserve(e - s + 256);
  const len = scanHost(buf, s, e, out, table.scratchOffset());
  if (len < 0) return skip(line, reasonOf(len), s, e);
  if (table.addScratch(len, id, line)) stats.domains++;
  else skip(line, 'duplicate', s, e);
}

function addDomainString(
  table: DomainTableBuilder, text: string, id: number, line: number, stats: ListStats,
  skip: (reason: SkipReason) => void,
): void {
  const r = normaliseListHost(text);
  if (r.reason !== undefined) return skip(r.reason);
  if (table.add(r.host, id, line)) stats.domains++;
  else skip('duplicate');
}

const BINARY_TEXT = /[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/;
const MAX_EXPRESSION = 1024;

/**
 * squidGuard expressions run against every URL, so one bad line must not cost every lookup:
 * they compile with RE2 (linear time: no pattern can freeze the event loop, whatever the URL),
 * and one that matches the empty string would match everything.
 */
function expressionProblem(source: string): SkipReason | undefined {
  if (BINARY_TEXT.test(source)) return 'binary';
  if (source.length > MAX_EXPRESSION) return 'expression-too-long';
  let re: RE2JS;
  try {
    re = compileExpression(source);
  } catch {
    return 'invalid-regex';
  }
  return re.test('') ? 'matches-everything' : undefined;
}

/** The one way expressions are compiled, at build and in the matcher, so both agree. */
export function compileExpression(source: string): RE2JS {
  return RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
}

function printable(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
}
