// Text folding: one normal form for search terms and for phrase lists, so "Jak się ZABIĆ",
// "jak sie zabic" and "k1ll   myself!" all meet the lists in the spelling the lists use.
//
// foldText runs on every URL path and search term, so pure-ASCII input (nearly all of it)
// never calls String.prototype.normalize, and input that is already folded comes back as
// the same string, without building a new one.
//
// The rules, in order:
// 1. Unicode NFKC (fullwidth and compatibility forms become plain letters and digits), lower
//    case, ß→ss, ς→σ, diacritics removed (NFD, then every combining mark dropped), and the
//    letters that do not decompose spelled out: ł→l, đ/ð→d, ø→o, æ→ae, œ→oe, ı→i, þ→th, ħ→h, ŧ→t.
// 2. Tokens are runs of letters, digits, '@' and '$'. An apostrophe between two letters is
//    dropped ("don't" → "dont"), because people type search terms both ways and a phrase
//    list should not need both spellings; anywhere else it separates like other punctuation.
// 3. Leetspeak (0→o 1→i 3→e 4→a 5→s 7→t @→a $→s) is folded only in tokens that mix letters
//    with those characters, so "k1ll" is "kill" but "year 7" and "2024" keep their digits.
//    In a token without letters, '@' and '$' separate like punctuation ("$5" → "5").
// 4. Every run of anything else (punctuation, '-', '_', '+', '/', whitespace) is one space;
//    no space at either end.
// 5. A time of day is one token, its parts joined by 'h' and am/pm written after them:
//    "[20:22]" is "20h22", "20:22:05" is "20h22h05", "20h22" (as French and Polish write it)
//    stays so, and "3:15pm", "3:15 PM", "3.15 p.m.", "3 15pm" are all "3h15pm"; "3pm" is
//    "3pm". None is read as leetspeak. Read as two numbers, a chat log's timestamps would be
//    taken for ages ("he is" near "20 22"); one token matches no number a list holds. A time
//    is one or two digits, then
//      - once or twice ':' or 'h' and minutes (00-59), then optionally am/pm, written on or
//        after spaces;
//      - '.' and minutes, then am/pm, on or after spaces ("3.15" alone is a number);
//      - spaces and minutes, then am/pm written on ("3 15 pm" is left as it is);
//      - am/pm written on ("3 am" is left as it is: "im 12 am i" holds an age);
//    starting and ending a token. Spaces are ' ' or no-break spaces. timeSpan and timeToken
//    read times for foldText and for pages (page-fold.ts) alike.

// Character classes of the ASCII fast path.
const SEP = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const LEET_DIGIT = 4;
const LEET_SYM = 5;
const APOS = 6;

// Bits a token collects, to choose how it is emitted.
const HAS_LETTER = 1;
const HAS_UPPER = 2;
const HAS_LEET_DIGIT = 4;
const HAS_LEET_SYM = 8;
const HAS_APOS = 16;
const CLASS_BIT: readonly number[] = [0, HAS_LETTER, HAS_LETTER | HAS_UPPER, 0, HAS_LEET_DIGIT, HAS_LEET_SYM, HAS_APOS];

const ASCII_CLASS = buildAsciiClasses();
const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's' };

function buildAsciiClasses(): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 97; c <= 122; c++) t[c] = LOWER;
  for (let c = 65; c <= 90; c++) t[c] = UPPER;
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  for (const ch of '013457') t[ch.charCodeAt(0)] = LEET_DIGIT;
  t[64] = LEET_SYM; // @
  t[36] = LEET_SYM; // $
  t[39] = APOS;
  return t;
}

/** Letters that have no canonical decomposition, so stripping marks would leave them as they are. */
const SPELLED: Readonly<Record<string, string>> = {
  'ß': 'ss', 'ς': 'σ', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'ø': 'o', 'æ': 'ae', 'œ': 'oe', 'ı': 'i', 'þ': 'th',
  'ħ': 'h', 'ŧ': 't',
  // Typographic apostrophes and the modifier letter apostrophe (which Unicode calls a letter)
  // are read as the ASCII apostrophe, so "don’t" folds like "don't".
  '\u2018': "'", '\u2019': "'", '\u02bc': "'",
};
const SPELLED_RE = /[ßςłđðøæœıþħŧ\u2018\u2019\u02bc]/g;
const MARKS_RE = /\p{M}+/gu;
const TOKEN_RE = /(?:[\p{L}\p{N}@$]|(?<=\p{L})'(?=\p{L}))+/gu;
const TOKEN_CHAR_RE = /[\p{L}\p{N}@$]/u;
const LETTER_RE = /\p{L}/u;
const LEET_RE = /[013457@$]/;
const LEET_ALL_RE = /[013457@$]/g;

export function foldText(s: string): string {
  if (isFolded(s)) return s;
  if (isAscii(s)) return foldAscii(s);
  let t = s.normalize('NFKC').toLowerCase().replace(SPELLED_RE, (ch) => SPELLED[ch] ?? ch);
  t = t.normalize('NFD').replace(MARKS_RE, '');
  if (isAscii(t)) return foldAscii(t);
  return foldUnicode(t.normalize('NFC'));
}

/** True when s is already in the normal form: one tight loop, no allocation. */
function isFolded(s: string): boolean {
  let afterSpace = true;
  let letters = false;
  let leet = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) {
      if (afterSpace || (letters && leet)) return false;
      afterSpace = true;
      letters = leet = false;
      continue;
    }
    const k = c < 128 ? ASCII_CLASS[c] : SEP;
    if (k === LOWER) letters = true;
    else if (k === LEET_DIGIT) leet = true;
    else if (k !== DIGIT) return false;
    afterSpace = false;
  }
  return !afterSpace && !(letters && leet);
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

function isLetterClass(k: number | undefined): boolean {
  return k === LOWER || k === UPPER;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Whether a time of day (rule 5) ends a token at s[j]: what comes after it is for each reading to say. */
export interface TokenEnds {
  ends(s: string, j: number): boolean;
}

/**
 * Where the time of day (rule 5) that starts at s[i] ends, the longest reading of it that
 * `at.ends` says ends a token; or -1. With timeToken, the one reading of times there is.
 */
export function timeSpan(s: string, i: number, at: TokenEnds): number {
  let j = i;
  while (j - i < 3 && isDigitCode(s.charCodeAt(j))) j++;
  if (j === i || j - i > 2) return -1;
  let groups = 0;
  // How the minutes were joined on, if not by ':' or 'h': '.' or spaces (then only they follow).
  let loose = 0;
  for (;;) {
    const c = s.charCodeAt(j);
    let k = j + 1;
    let join = COLON;
    if (c === DOT && groups === 0) join = DOT;
    else if (isTimeSpace(c) && groups === 0) {
      join = SPACE_CODE;
      while (isTimeSpace(s.charCodeAt(k))) k++;
    } else if (c !== COLON && c !== LOWER_H && c !== UPPER_H) break;
    if (!minutesAt(s, k)) break;
    j = k + 2;
    groups++;
    if (join !== COLON) {
      loose = join;
      break;
    }
    if (groups === 2) break;
  }
  const attached = amPmEnd(s, j);
  if (attached >= 0 && at.ends(s, attached)) return attached;
  if (groups === 0 || loose === SPACE_CODE) return -1;
  let k = j;
  while (isTimeSpace(s.charCodeAt(k))) k++;
  const spaced = k > j ? amPmEnd(s, k) : -1;
  if (spaced >= 0 && at.ends(s, spaced)) return spaced;
  return loose === 0 && at.ends(s, j) ? j : -1;
}

/** The time s[i .. end) (timeSpan's end) as one token: its numbers joined by 'h', then am or pm, lower case. */
export function timeToken(s: string, i: number, end: number): string {
  let out = '';
  for (let k = i; k < end; k++) {
    const c = timeChar(s, k);
    if (c >= 0) out += String.fromCharCode(c);
  }
  return out;
}

/**
 * What s[k], in a time (timeSpan's), is in its token (timeToken), as a character code; -1 for
 * nothing: a digit as it is, 'h' for what joins two numbers, am/pm in lower case.
 */
export function timeChar(s: string, k: number): number {
  const c = s.charCodeAt(k);
  if (isDigitCode(c)) return c;
  if (c === COLON || c === LOWER_H || c === UPPER_H || c === DOT || isTimeSpace(c)) return isDigitCode(s.charCodeAt(k + 1)) ? LOWER_H : -1;
  return c | 32;
}

const COLON = 58;
const DOT = 46;
const SPACE_CODE = 32;
const LOWER_H = 104;
const UPPER_H = 72;

/** ' ' or a no-break space, which NFKC makes one: what may stand between a time's parts. */
function isTimeSpace(c: number): boolean {
  return c === SPACE_CODE || c === 0xa0;
}

/** Minutes (00-59) at s[k], not followed by a third digit. */
function minutesAt(s: string, k: number): boolean {
  const tens = s.charCodeAt(k);
  return tens >= 48 && tens <= 53 && isDigitCode(s.charCodeAt(k + 1)) && !isDigitCode(s.charCodeAt(k + 2));
}

/** The end of "am", "pm", "a.m" or "p.m" (any case) at s[j], or -1. */
function amPmEnd(s: string, j: number): number {
  const a = s.charCodeAt(j) | 32;
  if (a !== 97 && a !== 112) return -1;
  const k = s.charCodeAt(j + 1) === DOT ? j + 2 : j + 1;
  return (s.charCodeAt(k) | 32) === 109 ? k + 1 : -1;
}

/** foldText's ASCII path: a time ends at a separator, or an apostrophe not between two letters (after "pm", say). */
const ASCII_ENDS: TokenEnds = {
  ends(s, j) {
    if (j >= s.length) return true;
    const after = ASCII_CLASS[s.charCodeAt(j)];
    if (after === SEP) return true;
    return after === APOS && !(isLetterClass(ASCII_CLASS[s.charCodeAt(j - 1)]) && isLetterClass(ASCII_CLASS[s.charCodeAt(j + 1)]));
  },
};

/** foldText's general path: a time ends where no letter, digit, '@' or '$' follows, nor an apostrophe between letters. */
const UNICODE_ENDS: TokenEnds = {
  ends(s, j) {
    if (j >= s.length) return true;
    if (TOKEN_CHAR_RE.test(String.fromCodePoint(s.codePointAt(j)!))) return false;
    return !(s.charCodeAt(j) === 39 && LETTER_RE.test(s[j - 1]!) && j + 1 < s.length && LETTER_RE.test(String.fromCodePoint(s.codePointAt(j + 1)!)));
  },
};

/** Where a time that starts at ASCII s[i] ends, if one does; or -1. */
function asciiTimeEnd(s: string, i: number): number {
  const k = ASCII_CLASS[s.charCodeAt(i)];
  return k === DIGIT || k === LEET_DIGIT ? timeSpan(s, i, ASCII_ENDS) : -1;
}

function foldAscii(s: string): string {
  const n = s.length;
  // While `same` holds, the output so far is exactly s.slice(0, prevEnd): nothing is built
  // until the first difference, and folded input is returned as the same string.
  let same = true;
  let out = '';
  let prevEnd = -1;
  let i = 0;
  for (;;) {
    while (i < n && (ASCII_CLASS[s.charCodeAt(i)] === SEP || ASCII_CLASS[s.charCodeAt(i)] === APOS)) i++;
    if (i >= n) break;
    const start = i;
    const time = asciiTimeEnd(s, i);
    let bits = 0;
    if (time >= 0) i = time;
    else {
      for (; i < n; i++) {
        const k = ASCII_CLASS[s.charCodeAt(i)]!;
        if (k === SEP) break;
        if (k === APOS && !(isLetterClass(ASCII_CLASS[s.charCodeAt(i - 1)]) && isLetterClass(ASCII_CLASS[s.charCodeAt(i + 1)]))) break;
        bits |= CLASS_BIT[k]!;
      }
    }
    const token = s.slice(start, i);
    const piece = time >= 0 ? timeToken(s, start, i) : emitToken(token, bits);
    if (same && (piece !== token || (prevEnd < 0 ? start !== 0 : start !== prevEnd + 1 || s.charCodeAt(prevEnd) !== 32))) {
      same = false;
      out = prevEnd < 0 ? '' : s.slice(0, prevEnd);
    }
    if (piece === '') continue;
    if (same) prevEnd = i;
    else out = out === '' ? piece : out + ' ' + piece;
  }
  if (same) return prevEnd === n ? s : prevEnd < 0 ? '' : s.slice(0, prevEnd);
  return out;
}

const LEET_CODE = new Uint8Array(128);
for (const [from, to] of Object.entries(LEET)) LEET_CODE[from.charCodeAt(0)] = to.charCodeAt(0);

/** A deterministic automaton over character codes, as PhraseMatcher compiles it. */
export interface CharDfa {
  /** Character code -> symbol; codes at or past its length are symbol 0. */
  readonly symbolOf: Uint8Array | Uint16Array;
  /** delta[state * alphabet + symbol] = next state. */
  readonly delta: Uint16Array | Uint32Array;
  readonly alphabet: number;
  /** States from here on are accepting: the walk stops at the first one. */
  readonly firstOut: number;
}

/** walkFoldedAscii's answers besides a state: */
export const WALK_STOPPED = -1;
export const WALK_NOT_ASCII = -2;

/**
 * Runs `dfa` from `state` over the folded form of ASCII text, without building it: the same
 * character codes foldText(s) would produce, in order (32 between words). Returns the state
 * after the last one, WALK_STOPPED at the first accepting state, or WALK_NOT_ASCII for text
 * that is not ASCII (the caller folds that with foldText). This is what lets the phrase lists
 * run over every URL path for a few nanoseconds a character.
 */
export function walkFoldedAscii(s: string, dfa: CharDfa, state: number): number {
  const { symbolOf, delta, alphabet, firstOut } = dfa;
  const symbols = symbolOf.length;
  const n = s.length;
  let emitted = false;
  let i = 0;
  for (;;) {
    let c = 0;
    while (i < n) {
      c = s.charCodeAt(i);
      if (c > 127) return WALK_NOT_ASCII;
      const k = ASCII_CLASS[c];
      if (k !== SEP && k !== APOS) break;
      i++;
    }
    if (i >= n) return state;
    const start = i;
    const time = asciiTimeEnd(s, i);
    if (time >= 0) {
      if (emitted) {
        state = delta[state * alphabet + (32 < symbols ? symbolOf[32]! : 0)]!;
        if (state >= firstOut) return WALK_STOPPED;
      }
      emitted = true;
      for (; i < time; i++) {
        c = timeChar(s, i);
        if (c < 0) continue;
        state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
        if (state >= firstOut) return WALK_STOPPED;
      }
      continue;
    }
    let bits = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c > 127) return WALK_NOT_ASCII;
      const k = ASCII_CLASS[c]!;
      if (k === SEP) break;
      if (k === APOS && !(isLetterClass(ASCII_CLASS[s.charCodeAt(i - 1)]) && isLetterClass(ASCII_CLASS[s.charCodeAt(i + 1)]))) break;
      bits |= CLASS_BIT[k]!;
    }
    const letters = (bits & HAS_LETTER) !== 0;
    const leet = letters && (bits & (HAS_LEET_DIGIT | HAS_LEET_SYM)) !== 0;
    // A token without letters is split at '@' and '$' (as splitOnLeetSymbols does).
    let inPiece = false;
    for (let j = start; j < i; j++) {
      c = s.charCodeAt(j);
      const k = ASCII_CLASS[c]!;
      if (k === APOS) continue;
      if (k === LEET_SYM && !letters) {
        inPiece = false;
        continue;
      }
      if (!inPiece) {
        if (emitted) {
          state = delta[state * alphabet + (32 < symbols ? symbolOf[32]! : 0)]!;
          if (state >= firstOut) return WALK_STOPPED;
        }
        inPiece = emitted = true;
      }
      if (k === UPPER) c += 32;
      else if (leet && (k === LEET_DIGIT || k === LEET_SYM)) c = LEET_CODE[c]!;
      state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
      if (state >= firstOut) return WALK_STOPPED;
    }
  }
}

/** One token of the ASCII path, given the classes it contains. */
function emitToken(token: string, bits: number): string {
  if ((bits & HAS_LETTER) === 0) {
    return (bits & HAS_LEET_SYM) === 0 ? token : splitOnLeetSymbols(token);
  }
  if ((bits & (HAS_LEET_DIGIT | HAS_LEET_SYM)) !== 0) {
    return token.toLowerCase().replace(LEET_ALL_RE, (ch) => LEET[ch] ?? ch).replaceAll("'", '');
  }
  if ((bits & HAS_UPPER) !== 0) return (bits & HAS_APOS) !== 0 ? token.toLowerCase().replaceAll("'", '') : token.toLowerCase();
  return (bits & HAS_APOS) !== 0 ? token.replaceAll("'", '') : token;
}

function splitOnLeetSymbols(token: string): string {
  return token.split(/[@$]+/).filter((p) => p !== '').join(' ');
}

/** The general path, for text that still has non-ASCII letters or digits after step 1. */
function foldUnicode(t: string): string {
  const out: string[] = [];
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(t); m !== null; m = TOKEN_RE.exec(t)) {
    // A time (rule 5) is tried first, at a token's start only; it may go on past the token.
    const time = isDigitCode(t.charCodeAt(m.index)) ? timeSpan(t, m.index, UNICODE_ENDS) : -1;
    if (time >= 0) {
      out.push(timeToken(t, m.index, time));
      TOKEN_RE.lastIndex = time;
      continue;
    }
    const token = m[0];
    const letters = LETTER_RE.test(token);
    if (!letters) {
      const p = splitOnLeetSymbols(token);
      if (p !== '') out.push(p);
    } else if (LEET_RE.test(token)) {
      out.push(token.replace(LEET_ALL_RE, (ch) => LEET[ch] ?? ch).replaceAll("'", ''));
    } else {
      out.push(token.replaceAll("'", ''));
    }
  }
  return out.join(' ');
}

const HEX_VALUE = buildHexValues();

function buildHexValues(): Int8Array {
  const t = new Int8Array(128).fill(-1);
  for (let c = 0; c < 10; c++) t[48 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[65 + c] = 10 + c;
    t[97 + c] = 10 + c;
  }
  return t;
}

function hexAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? HEX_VALUE[c]! : -1;
}

/**
 * Decodes one application/x-www-form-urlencoded value: '+' is a space and %XX escapes are
 * UTF-8. It never throws: an escape that is not two hex digits, or bytes that are not valid
 * UTF-8, are kept as written, because a search term must still be logged when a page (or a
 * pupil) sends a broken one.
 */
export function decodeQueryValue(raw: string): string {
  if (raw.indexOf('%') < 0) return raw.indexOf('+') < 0 ? raw : raw.replaceAll('+', ' ');
  const n = raw.length;
  let out = '';
  let lit = 0;
  let i = 0;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c === 43 /* + */) {
      out += raw.slice(lit, i) + ' ';
      lit = ++i;
    } else if (c === 37 /* % */ && hexAt(raw, i + 1) >= 0 && hexAt(raw, i + 2) >= 0) {
      out += raw.slice(lit, i);
      const runStart = i;
      const bytes: number[] = [];
      while (raw.charCodeAt(i) === 37 && hexAt(raw, i + 1) >= 0 && hexAt(raw, i + 2) >= 0) {
        bytes.push(hexAt(raw, i + 1) * 16 + hexAt(raw, i + 2));
        i += 3;
      }
      out += decodeUtf8Run(raw, runStart, bytes);
      lit = i;
    } else i++;
  }
  return out + raw.slice(lit);
}

/** Decodes bytes from consecutive escapes; a byte that starts no valid sequence keeps its "%XX". */
function decodeUtf8Run(raw: string, runStart: number, bytes: readonly number[]): string {
  let out = '';
  let j = 0;
  while (j < bytes.length) {
    const len = utf8SequenceLength(bytes, j);
    if (len === 0) {
      out += raw.slice(runStart + 3 * j, runStart + 3 * j + 3);
      j++;
      continue;
    }
    const b0 = bytes[j]!;
    let cp = len === 1 ? b0 : len === 2 ? b0 & 0x1f : len === 3 ? b0 & 0x0f : b0 & 0x07;
    for (let k = 1; k < len; k++) cp = (cp << 6) | (bytes[j + k]! & 0x3f);
    out += String.fromCodePoint(cp);
    j += len;
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `j` (Unicode table 3-7), or 0 if there is none. */
function utf8SequenceLength(bytes: readonly number[], j: number): number {
  const b0 = bytes[j]!;
  if (b0 < 0x80) return 1;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 === 0xe0) lo = 0xa0; // no overlong forms
    if (b0 === 0xed) hi = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (j + len > bytes.length) return 0;
  const b1 = bytes[j + 1]!;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < len; k++) {
    const b = bytes[j + k]!;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}
