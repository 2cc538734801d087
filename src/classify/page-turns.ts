// What the phrase lists found on a conversation page, heard by speaker (turns.ts). A pupil's
// turns are read as before; a helper's (an assistant's, a bot's, a moderator's) are not the
// pupil's words:
//
// - A helper's turn that looks after the pupil (a refusal, a check-in such as "are you thinking
//   about ending your life?", crisis lines, a moderator's notice; turns.ts, helperSaysSafety)
//   adds nothing: its phrases are neither evidence of a concern (they raised alerts on benign
//   chats) nor context that talks down what the pupil said just before it (an assistant's
//   "please talk to someone you trust" beside a pupil's plan took the plan's first-person floor).
// - Any other helper turn is content: an assistant that gives harmful instructions raises its
//   concern by its own words, but an intent rule it matches ("I will …") is not the pupil's
//   intent, so it keeps no floor.
//
// Pure; one offset guess per hit (page-posts.ts, offsetOfHit), only on a page with turns.
import { offsetOfHit, wordCount } from './page-posts.js';
import { flagHits, type PhraseHit, type PhraseResult } from './phrases.js';
import { safetyTurns, turnAt, type Turn } from './turns.js';

/** The lists' result with a helper's safety turns left out and a helper's intent not counted as intent; `result` itself when nothing changes. */
export function hearTurns(result: PhraseResult, text: string, turns: readonly Turn[], thresholdsOf: (category: string) => { caution: number; danger: number }): PhraseResult {
  if (turns.length === 0 || result.hits.length === 0) return result;
  const safety = safetyTurns(text, turns);
  const readWords = wordCount(result.read, 0, result.read.length);
  const kept: PhraseHit[] = [];
  let changed = false;
  for (const h of result.hits) {
    const t = turnAt(turns, offsetOfHit(h, readWords, text));
    if (t < 0 || turns[t]!.speaker !== 'helper') kept.push(h);
    else if (safety[t] === true) changed = true;
    else if (h.intent) {
      kept.push({ ...h, intent: false });
      changed = true;
    } else kept.push(h);
  }
  if (!changed) return result;
  return { ...result, hits: kept, flagged: flagHits(kept, true, thresholdsOf) };
}
