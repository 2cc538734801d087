// Speaker turns of a conversation page: who says each part of an AI-chat transcript, a chat
// export or a forum thread with a moderator. A pupil's words and an assistant's (or a bot's,
// a moderator's) are not alike: the assistant asks "are you thinking about ending your life?",
// refuses, gives crisis lines, and none of it is the pupil's intent; read as the pupil's, it made
// the learned model read the assistant's safety question as the danger post, and a helper's
// crisis text raised alerts on benign pages (bench/RESULTS.md, "Conversation turns").
//
// A turn starts at a label at the start of a block of the page's text (page-text.ts keeps a
// newline where blocks meet, writes "User:" / "Assistant:" where chat markup names the speaker,
// and in plain text starts a block at each labelled line of a chat):
//
// - "Name:" or "Name said:" (a name of at most four words), after an optional time or date
//   ("[12:01] Name:", "12/03/2026, 21:02 - Name:");
// - a block that is only a role ("You", "Assistant", "ChatGPT"), as chat UIs show it above a
//   message;
// - a short author line with a moderator's badge ("Mod_Kate Moderator") on a forum;
// - `"role": "user"` in a chat exported as JSON.
//
// The speaker is a helper (assistant, bot, moderator, a service's counsellor) when the label
// names one: a known role word or chatbot, a name ending in "bot", "X said:" on a page that also
// says "You said:" (the AI-chat transcript form), a moderator's badge. Anyone else is a person.
// A page without a helper's label has no turns: its posts are read as before, every word as a
// person's. A helper's turn runs to the next label; one started by a forum badge, which has no
// label to end it, also ends at the next short block (the next author's name, "Quote Report"),
// so that it never swallows the next person's post: text wrongly left out of a helper's turn is
// read as a person's, as it was before turns.
//
// Pure and cheap: one sticky regular expression tried at each block start.

/** Who speaks a turn: a person (the pupil, a friend in a chat) or a helper (an assistant, bot, moderator). */
export type Speaker = 'person' | 'helper';

export interface Turn {
  /** Where the turn's label starts in the text. */
  readonly start: number;
  /** Where its words start, after the label. */
  readonly body: number;
  /** Where it ends (the next turn's start, or the end of the text). */
  readonly end: number;
  readonly speaker: Speaker;
  /** The label as written ("ChatGPT said", "Mod_Kate Moderator", "user"). */
  readonly label: string;
}

export const NO_TURNS: readonly Turn[] = Object.freeze([]);

/**
 * A block page-text.ts writes where chat markup that named a speaker ends (U+2063, an invisible
 * separator): the turn ends there, and what follows is no one's until the next label.
 */
export const TURN_END = '\u2063';

/** Role words a person is labelled with. */
const PERSON_ROLES = new Set(['you', 'user', 'me', 'human', 'pupil', 'student', 'child', 'customer', 'visitor']);
/** Role words and chatbot names a helper is labelled with. */
const HELPER_ROLES = new Set([
  'assistant', 'ai', 'bot', 'chatbot', 'chatgpt', 'gpt', 'claude', 'gemini', 'copilot', 'bard', 'llama', 'grok', 'mistral',
  'model', 'system', 'moderator', 'mod', 'admin', 'administrator', 'staff', 'support', 'counsellor', 'counselor', 'helper',
  'ai assistant', 'virtual assistant', 'chat assistant', 'support bot', 'site admin', 'forum moderator', 'mod team',
]);
/** Words of a forum badge beside an author's name. */
const BADGE = /^(?:moderator|mod|admin|administrator|staff|counsellor|counselor)$/i;
/** Words that make a short line a heading ("Ask a Counsellor", "Contact the admin"), not an author with a badge. */
const NOT_A_NAME = new Set(['the', 'a', 'an', 'our', 'your', 'ask', 'contact', 'meet', 'message', 'email', 'to', 'with', 'for', 'and', 'of', 'from', 'by']);
/** Role words a block may be alone ("You", "Assistant" above a message); a generic one ("Support", "Admin") is a link as often. */
const ROLE_ALONE = new Set(['you', 'user', 'me', 'assistant', 'ai', 'bot', 'chatbot', 'chatgpt', 'claude', 'gemini', 'copilot', 'moderator']);

/**
 * A speaker's label: an optional date and time (group 1), a name of at most 31 characters (2),
 * an optional " said" (3) and a colon. page-text.ts starts a block at a line of plain text that
 * opens with one.
 */
export const SPEAKER_LABEL = String.raw`((?:\d{1,2}\/\d{1,2}\/\d{2,4},?\s*)?(?:[[(]?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s?(?:[ap]\.?m\.?)?[\])]?\s*(?:[-–]\s*)?)?)([\p{L}\p{N}_@][\p{L}\p{N}_@'’\- ]{0,30}?)(\s+said)?\s*:`;
/** A label at a block's start: its colon followed by a space or the block's end. */
const LABEL = new RegExp(`${SPEAKER_LABEL}(?= |\\n|$)`, 'uy');
// A chat exported as JSON: each message's role.
const JSON_ROLE = /"(?:role|author|sender|from)"\s*:\s*"([a-z_ -]{1,20})"(?:\s*,\s*"(?:content|text|message|body)"\s*:\s*")?/gi;

/** How a label names its speaker. */
type LabelKind = 'role' | 'name' | 'badge' | 'end';

interface Label {
  readonly start: number;
  readonly body: number;
  readonly speaker: Speaker;
  readonly label: string;
  /** 'role': a role word, a chatbot or "X said:"; 'name': anyone's name; 'badge': a forum author with a moderator's badge. */
  readonly kind: LabelKind;
  /** "X said:" (an AI-chat transcript's form). */
  readonly said: boolean;
  /** Opened by a time or a date, as a chat export's lines are. */
  readonly timed: boolean;
}

/** At least this many timed labels ("[21:02] Maya:") make a chat export's turns where no helper speaks. */
const TIMED_CHAT = 3;

/**
 * The turns of a page's text (newlines part blocks), or NO_TURNS when it is not a conversation:
 * one where a helper speaks beside a labelled person (or a forum's moderator with a badge), or
 * a chat export of at least TIMED_CHAT timed lines.
 */
export function findTurns(text: string): readonly Turn[] {
  let labels: Label[] = [];
  let at = 0;
  const n = text.length;
  let colon = text.indexOf(':'); // the first colon at or after the block: most blocks have none near their start
  while (at < n) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = n;
    if (colon >= 0 && colon < at) colon = text.indexOf(':', at);
    const found = end - at === 1 && text[at] === TURN_END ? { start: at, body: end, speaker: 'person' as const, label: '', kind: 'end' as const, said: false, timed: false } : labelAt(text, at, end, colon >= 0 && colon < end && colon - at <= LABEL_REACH);
    if (found !== null) labels.push(found);
    at = end + 1;
  }
  if (labels.length === 0) return jsonTurns(text);
  // "ChatGPT said:" is an assistant where the page also says "You said:"; else ("John said:",
  // a forum's quote) a person.
  if (!labels.some((l) => l.said && l.speaker === 'person')) labels = labels.map((l) => (l.said ? { ...l, speaker: 'person', kind: 'name' } : l));
  // Where the person is labelled by a role ("User:", "You said:") or a moderator by a badge, an untimed "Name:" inside one is its
  // text ("Step 1:", "Note:"), not a speaker.
  if (labels.some((l) => l.kind === 'badge' || (l.kind === 'role' && l.speaker === 'person'))) labels = labels.filter((l) => l.kind !== 'name' || l.timed);
  // A person labelled by a role, or two person labels ("Maya:" twice): one "Room:" is not a speaker.
  const persons = labels.filter((l) => l.speaker === 'person' && l.kind !== 'end');
  const person = persons.some((l) => l.kind === 'role') || persons.length >= 2;
  const helper = labels.some((l) => l.speaker === 'helper' && (l.kind === 'badge' || person));
  // A helper's label counts where a person is labelled too (a conversation has both; a lone
  // "Assistant:" line is more likely a heading or a link), except a forum's badge, whose turn
  // ends by itself.
  if (helper) labels = labels.filter((l) => l.speaker === 'person' || l.kind === 'badge' || person);
  else if (labels.filter((l) => l.timed).length < TIMED_CHAT) return jsonTurns(text);
  const turns: Turn[] = [];
  let start = -1; // of labels one after another ("ChatGPT said:", then "Assistant:"): the last names the turn
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l.kind === 'end') continue; // it ends the turn before it, and starts none
    if (start < 0) start = l.start;
    const next = labels[i + 1];
    if (next !== undefined && next.kind !== 'end' && next.start <= l.body + 1 && next.speaker === l.speaker) continue;
    let end = next !== undefined ? next.start : n;
    if (l.kind === 'badge') end = Math.min(end, nextShortBlock(text, l.body, end));
    turns.push({ start, body: Math.min(l.body, end), end, speaker: l.speaker, label: l.label });
    start = -1;
  }
  return turns;
}

/** How far into a block a label's colon can be (a date, a time and a name of at most 31 characters). */
const LABEL_REACH = 60;
/** The last words of a block that can be a label without a colon: a role alone or a badge. */
const LAST_WORDS = new Set([...ROLE_ALONE, 'moderator', 'mod', 'admin', 'administrator', 'staff', 'counsellor', 'counselor']);

/** The label at a block's start text[at, end), if it has one; `colon`: the block has a colon near its start. */
function labelAt(text: string, at: number, end: number, colon: boolean): Label | null {
  const block = at;
  while (at < end && text.charCodeAt(at) === 32) at++;
  if (at >= end) return null;
  // A block that is a role alone ("You", "Assistant") or an author with a badge: its last word
  // tells first, without making the block a string.
  if (end - at <= 40 && LAST_WORDS.has(lastWord(text, at, end))) {
    const whole = text.slice(at, end).trim();
    const lower = whole.toLowerCase().replace(/:$/, '');
    if (ROLE_ALONE.has(lower)) return { start: block, body: end, speaker: PERSON_ROLES.has(lower) ? 'person' : 'helper', label: whole, kind: 'role', said: false, timed: false };
    const words = lower.split(' ');
    if (words.length >= 2 && words.length <= 4 && BADGE.test(words[words.length - 1]!) && !words.some((w) => NOT_A_NAME.has(w))) return { start: block, body: end, speaker: 'helper', label: whole, kind: 'badge', said: false, timed: false };
  }
  if (!colon) return null;
  LABEL.lastIndex = at;
  const m = LABEL.exec(text);
  if (m === null || m.index + m[0].length > end) return null;
  const name = m[2]!.trim();
  if (name.split(' ').length > 4) return null;
  const lower = name.toLowerCase();
  let body = m.index + m[0].length;
  while (body < end && text.charCodeAt(body) === 32) body++;
  const timed = m[1] !== '';
  if (m[3] !== undefined) return { start: block, body, speaker: lower === 'you' ? 'person' : 'helper', label: `${name} said`, kind: 'role', said: true, timed };
  const speaker = speakerOf(lower);
  return { start: block, body, speaker, label: name, kind: speaker === 'helper' || PERSON_ROLES.has(lower) ? 'role' : 'name', said: false, timed };
}

/** The last word of text[at, end), lower case, without a colon after it. */
function lastWord(text: string, at: number, end: number): string {
  while (end > at && text.charCodeAt(end - 1) === 32) end--;
  if (end > at && text.charCodeAt(end - 1) === 58) end--;
  const space = text.lastIndexOf(' ', end - 1);
  return text.slice(space < at ? at : space + 1, end).toLowerCase();
}

/** A labelled name's speaker: a helper role, a chatbot ("HelpBot", "Study AI"), or a person. */
function speakerOf(name: string): Speaker {
  if (PERSON_ROLES.has(name)) return 'person';
  if (HELPER_ROLES.has(name)) return 'helper';
  const words = name.split(/[\s_-]+/);
  const last = words[words.length - 1]!;
  if (last === 'ai' || last === 'bot' || last === 'assistant' || last === 'moderator' || (last.endsWith('bot') && last.length > 3)) return 'helper';
  return 'person';
}

/** Where the first block of at most three words after `from` starts, or `end`. */
function nextShortBlock(text: string, from: number, end: number): number {
  let at = text.indexOf('\n', from);
  while (at >= 0 && at < end) {
    let stop = text.indexOf('\n', at + 1);
    if (stop < 0 || stop > end) stop = end;
    let words = 0;
    for (const w of text.slice(at + 1, stop).split(' ')) if (w !== '') words++;
    if (words > 0 && words <= 3) return at + 1;
    at = stop < end ? stop : -1;
  }
  return end;
}

/** The turns of a chat exported as JSON ("role": "user" … "role": "assistant"), from each message's opening brace. */
function jsonTurns(text: string): readonly Turn[] {
  // A JSON key is quoted, and most pages have no '":' at all: one native scan rules them out.
  if (text.indexOf('":') < 0 && text.indexOf('" :') < 0) return NO_TURNS;
  const starts: { start: number; body: number; speaker: Speaker; label: string }[] = [];
  let helper = false;
  JSON_ROLE.lastIndex = 0;
  for (let m = JSON_ROLE.exec(text); m !== null; m = JSON_ROLE.exec(text)) {
    const role = m[1]!.toLowerCase();
    const speaker = speakerOf(role);
    if (speaker === 'helper') helper = true;
    const brace = text.lastIndexOf('{', m.index);
    const start = brace < 0 || (starts.length > 0 && brace < starts[starts.length - 1]!.body) ? m.index : brace;
    starts.push({ start, body: m.index + m[0].length, speaker, label: role });
  }
  if (!helper || starts.length < 2) return NO_TURNS;
  return starts.map((s, i) => ({ ...s, end: i + 1 < starts.length ? starts[i + 1]!.start : text.length }));
}

/** The turn holding text[offset], or -1. Turns are in order and do not overlap. */
export function turnAt(turns: readonly Turn[], offset: number): number {
  let lo = 0;
  let hi = turns.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = turns[mid]!;
    if (offset < t.start) hi = mid - 1;
    else if (offset >= t.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

// A helper's turn that looks after the pupil rather than answering the question: a refusal, a
// check-in, crisis lines and services, a moderator's notice. Its words are said to the pupil,
// about the pupil's safety: neither evidence of a concern nor the pupil's intent.
const SAFETY = new RegExp(
  [
    String.raw`\bi (?:can['’]?t|cannot|won['’]?t|will not|am not able to|['’]?m not able to|m not able to) (?:help|assist|provide|give|support|write|do that|tell you)`,
    String.raw`\bare you (?:thinking|having|feeling|safe|ok|okay|hurt|in danger)\b`,
    String.raw`\bif you(?:['’]re| are|['’]ve| have)? (?:ever |now |currently )?(?:thinking|feeling|having|in danger|asking because|need|want to talk|struggling|worried)`,
    String.raw`\bthoughts of (?:hurting|harming|suicide|ending|killing)`,
    String.raw`\b(?:samaritans|childline|papyrus|nspcc|ceop|shout to|text shout|beat youthline|crisis line|helpline|hotline)\b`,
    String.raw`\b(?:call|ring|phone) (?:999|911|112|111)\b`,
    String.raw`\b(?:talk|speak|reach out) to (?:someone|a trusted|an adult|a teacher|a parent|your (?:gp|doctor|teacher|parents?))`,
    String.raw`\b(?:thread|topic|post) (?:locked|removed|closed)\b|\breported to the police\b|\bbreaks? (?:the|our) (?:forum )?rules\b`,
  ].join('|'),
  'i',
);

/** Whether a helper's words look after the pupil (a refusal, a check-in, crisis lines, a moderator's notice). */
export function helperSaysSafety(words: string): boolean {
  return SAFETY.test(words);
}

/** Per turn, whether it is a helper's turn of safety text (helperSaysSafety): worked out once a page. */
export function safetyTurns(text: string, turns: readonly Turn[]): readonly boolean[] {
  return turns.map((t) => t.speaker === 'helper' && helperSaysSafety(text.slice(t.body, t.end)));
}
