// Compiles the phrase files' rules off the event loop. The shipped lists take about a second to
// compile (bench/RESULTS.md), during which a proxy compiling them itself would answer nothing.
// The worker compiles them and sends the matcher back whole: its typed arrays are transferred,
// its small objects copied, and its class instances given their methods back
// (worker-transfer.ts), so the main thread compiles nothing again. The worker also works out
// what else is made once per configuration (the settings' fingerprint, each rule's key), and
// compiles nothing when the fingerprint is the one the caller already has.
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { askWorker } from '../worker.js';
import { pack, unpack, type Packed, type Sendable } from '../worker-transfer.js';
import { AddressGate } from './address-anchors.js';
import { NearIndex } from './evasions.js';
import { PageFold, TextBuffer } from './page-fold.js';
import { buildPhraseMatcher, entryKey, MATCHER_CLASSES, type PhraseMatcher, type PhraseSettings } from './phrases.js';
import { WordTable } from './word-table.js';

/** Every class a compiled matcher is made of. */
const CLASSES: readonly Sendable[] = [...MATCHER_CLASSES, AddressGate, NearIndex, PageFold, TextBuffer, WordTable];

/** A hash of everything of the settings a matcher depends on (some tens of milliseconds for the shipped lists). */
export function fingerprintOf(s: PhraseSettings): string {
  return createHash('sha256').update(JSON.stringify([s.threshold, s.thresholds, s.danger, s.entries, s.classes, s.emoji])).digest('hex');
}

/** The rules compiled, with entryKey() of each of the settings' entries (null: it does not parse). */
export interface Compiled {
  readonly matcher: PhraseMatcher;
  readonly ruleKeys: readonly (string | null)[];
}

type Reply =
  | { ok: true; fingerprint: string; matcher: object | null; ruleKeys: (string | null)[] | null; packed: Packed | null }
  | { ok: false; name: string; message: string };

if (!isMainThread && parentPort && (workerData as { schoolgatePhrases?: boolean } | null)?.schoolgatePhrases) {
  const { settings, unless } = workerData as { settings: PhraseSettings; unless: string | null };
  let reply: Reply;
  let transfer: ArrayBuffer[] = [];
  try {
    const fingerprint = fingerprintOf(settings);
    if (fingerprint === unless) {
      reply = { ok: true, fingerprint, matcher: null, ruleKeys: null, packed: null };
    } else {
      const matcher = buildPhraseMatcher(settings);
      const sent = pack(matcher, CLASSES);
      transfer = sent.transfer;
      reply = { ok: true, fingerprint, matcher, ruleKeys: settings.entries.map(entryKey), packed: sent.packed };
    }
  } catch (err) {
    // The rule's file and line are in the message, as when compiled in-process.
    reply = err instanceof Error ? { ok: false, name: err.name, message: err.message } : { ok: false, name: 'Error', message: String(err) };
  }
  parentPort.postMessage(reply, transfer);
}

/**
 * buildPhraseMatcher(settings) in a worker thread, with the settings' fingerprint; `compiled` is
 * null when the fingerprint is `unless` (the rules are those of a matcher the caller has).
 * Rejects with the error compiling threw (its name and message: a rule's file, line and what is
 * wrong), or if the worker fails.
 */
export async function compileInWorker(settings: PhraseSettings, unless: string | null): Promise<{ fingerprint: string; compiled: Compiled | null }> {
  // Only what a matcher is compiled from: a configuration's settings may hold more.
  const { entries, classes, emoji, threshold, thresholds, danger } = settings;
  const msg = await askWorker<Reply>(import.meta.url, { schoolgatePhrases: true, settings: { entries, classes, emoji, threshold, thresholds, danger }, unless }, 'phrase compile');
  if (!msg.ok) throw msg.name === 'RangeError' ? new RangeError(msg.message) : new Error(msg.message);
  if (msg.matcher === null || msg.packed === null || msg.ruleKeys === null) return { fingerprint: msg.fingerprint, compiled: null };
  return { fingerprint: msg.fingerprint, compiled: { matcher: unpack<PhraseMatcher>(msg.matcher, msg.packed, CLASSES), ruleKeys: msg.ruleKeys } };
}
