// Compiles the phrase files' rules off the event loop. The shipped lists take about a second to
// compile (bench/RESULTS.md), during which a proxy compiling them itself would answer nothing.
// A child process (not a thread: its memory, and a compile's, is never the proxy's; a reload
// whose rules did not change costs the proxy nothing) compiles them and sends the matcher back
// whole: its typed arrays and small objects copied over the IPC channel (V8's serializer, as
// postMessage), and its class instances given their methods back (worker-transfer.ts), so the
// proxy compiles nothing again. The child also works out what else is made once per
// configuration (the settings' fingerprint, each rule's key), and compiles nothing when the
// fingerprint is the one the caller already has.
import { answerParent, askChild } from '../worker.js';
import { pack, unpack, type Packed, type Sendable } from '../worker-transfer.js';
import { AddressGate } from './address-anchors.js';
import { decodeCached, fingerprintOf, readCached, writeCached, type Compiled } from './phrase-cache.js';
import { NearIndex } from './evasions.js';
import { PageFold, TextBuffer } from './page-fold.js';
import { buildPhraseMatcher, entryKey, MATCHER_CLASSES, type PhraseMatcher, type PhraseSettings } from './phrases.js';
import { WordTable } from './word-table.js';

/** Every class a compiled matcher is made of. */
export const MATCHER_GRAPH: readonly Sendable[] = [...MATCHER_CLASSES, AddressGate, NearIndex, PageFold, TextBuffer, WordTable];

export { fingerprintOf } from './phrase-cache.js';

export type { Compiled } from './phrase-cache.js';

const CHILD_FLAG = '--schoolgate-phrase-compile';

/** Where the child's answer came from: the rules as the caller has them, the cache on disk, or compiled now. */
export type CompiledFrom = 'unchanged' | 'cache' | 'compiled';

type Reply =
  | { ok: true; fingerprint: string; unchanged: true }
  | { ok: true; fingerprint: string; cached: Uint8Array }
  | { ok: true; fingerprint: string; matcher: object; ruleKeys: (string | null)[]; packed: Packed; cacheError: string | null }
  | { ok: false; name: string; message: string };

interface Request {
  readonly settings: PhraseSettings;
  readonly unless: string | null;
  /** The folder of the compiled rules kept on disk (phrase-cache.ts), or null for none. */
  readonly cacheDir: string | null;
  /** Compile even if the cache has them (its file would not decode), and write it again. */
  readonly recompile: boolean;
}

/**
 * The rules compiled, and kept in `cacheDir` (phrase-cache.ts) unless it is null: here in the
 * child, and in a command's own process (phrase-overlay.ts), so that the next run reads them
 * back. `cacheError`: why they could not be kept (they are compiled all the same).
 */
export function compileAndKeep(settings: PhraseSettings, fingerprint: string, cacheDir: string | null): { matcher: PhraseMatcher; ruleKeys: (string | null)[]; packed: Packed; cacheError: string | null } {
  const matcher = buildPhraseMatcher(settings);
  const ruleKeys = settings.entries.map(entryKey);
  const { packed } = pack(matcher, MATCHER_GRAPH);
  let cacheError: string | null = null;
  if (cacheDir !== null) {
    try {
      writeCached(cacheDir, fingerprint, { matcher, ruleKeys }, packed);
    } catch (err) {
      cacheError = err instanceof Error ? err.message : String(err);
    }
  }
  return { matcher, ruleKeys, packed, cacheError };
}

answerParent<Request, Reply>(CHILD_FLAG, ({ settings, unless, cacheDir, recompile }) => {
  try {
    const fingerprint = fingerprintOf(settings);
    const cached = fingerprint === unless || cacheDir === null || recompile ? null : readCached(cacheDir, fingerprint);
    if (fingerprint === unless) return { ok: true, fingerprint, unchanged: true };
    // Sent as bytes, decoded on the other side: one copy, as the matcher itself would cost.
    if (cached !== null) return { ok: true, fingerprint, cached };
    const { matcher, ruleKeys, packed, cacheError } = compileAndKeep(settings, fingerprint, cacheDir);
    return { ok: true, fingerprint, matcher, ruleKeys, packed, cacheError };
  } catch (err) {
    // The rule's file and line are in the message, as when compiled in-process.
    return err instanceof Error ? { ok: false, name: err.name, message: err.message } : { ok: false, name: 'Error', message: String(err) };
  }
});

/** What compileInChild found. */
export interface ChildCompile {
  readonly fingerprint: string;
  /** Null when the fingerprint is `unless` (the rules are those of a matcher the caller has). */
  readonly compiled: Compiled | null;
  readonly from: CompiledFrom;
  /** Why the compiled rules could not be kept on disk or read back from it (the rules are good all the same). */
  readonly cacheProblem: string | null;
}

/**
 * buildPhraseMatcher(settings) in a child process, with the settings' fingerprint. With
 * `cacheDir`, rules compiled before by the same code are read back from it, and rules compiled
 * now are kept in it; a file there that does not decode is compiled again and replaced.
 * Rejects with the error compiling threw (its name and message: a rule's file, line and what is
 * wrong), or if the child fails.
 */
export async function compileInChild(settings: PhraseSettings, unless: string | null, cacheDir: string | null = null, recompile = false): Promise<ChildCompile> {
  // Only what a matcher is compiled from: a configuration's settings may hold more.
  const { entries, classes, emoji, threshold, thresholds, danger } = settings;
  const request: Request = { settings: { entries, classes, emoji, threshold, thresholds, danger }, unless, cacheDir, recompile };
  const msg = await askChild<Reply>(import.meta.url, CHILD_FLAG, request, 'phrase compile');
  if (!msg.ok) throw msg.name === 'RangeError' ? new RangeError(msg.message) : new Error(msg.message);
  if ('unchanged' in msg) return { fingerprint: msg.fingerprint, compiled: null, from: 'unchanged', cacheProblem: null };
  if ('cached' in msg) {
    try {
      return { fingerprint: msg.fingerprint, compiled: decodeCached(msg.cached, MATCHER_GRAPH), from: 'cache', cacheProblem: null };
    } catch (err) {
      const again = await compileInChild(settings, unless, cacheDir, true);
      return { ...again, cacheProblem: `${err instanceof Error ? err.message : String(err)}; compiled again` };
    }
  }
  const matcher = unpack<PhraseMatcher>(msg.matcher, msg.packed, MATCHER_GRAPH);
  return { fingerprint: msg.fingerprint, compiled: { matcher, ruleKeys: msg.ruleKeys }, from: 'compiled', cacheProblem: msg.cacheError };
}
