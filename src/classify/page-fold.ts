// Page text folded for the phrase engine: foldText(readCharacters(text)), the form every
// engine input is matched in, written as character codes into a buffer that is reused from page
// to page. Both steps are word-local (whatever they change stays between two spaces), so a
// page can be read a word at a time: words of ASCII, and of the punctuation pages are full of,
// are folded here the way foldText's ASCII path folds them, in one pass that builds no strings;
// any other word goes through readCharacters and foldText themselves. A 64 KiB page of English
// with a "·" between its links is read in a fraction of what reading all of it the full way costs.
import { readCharacters, type EmojiMap } from './evasions.js';
import { foldText, timeChar, timeSpan, type TokenEnds } from './normalise-text.js';

const SPACE = 32;
const NEWLINE = 10;
const NO_BREAK_SPACE = 0xa0;

/** Character codes of a text, in an array that grows and is kept. */
export class TextBuffer {
  chars: Uint16Array = new Uint16Array(256);

  /** Room for n characters, keeping those there. */
  reserve(n: number): void {
    if (this.chars.length >= n) return;
    let size = this.chars.length;
    while (size < n) size *= 2;
    const grown = new Uint16Array(size);
    grown.set(this.chars);
    this.chars = grown;
  }

  /** chars[0 .. n) as a string. */
  string(n: number): string {
    return Buffer.from(this.chars.buffer, this.chars.byteOffset, 2 * n).toString('utf16le');
  }
}

// Character classes, as foldText's ASCII path has them, and UNSAFE: a character that only the
// full reading (readCharacters, then foldText) can say what becomes of.
const SEP = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const LEET_DIGIT = 4;
const LEET_SYM = 5;
const APOS = 6;
const UNSAFE = 7;

const HAS_LETTER = 1;
const HAS_LEET_DIGIT = 4;
const HAS_LEET_SYM = 8;
const CLASS_BIT: readonly number[] = [0, HAS_LETTER, HAS_LETTER, 0, HAS_LEET_DIGIT, HAS_LEET_SYM, 0, 0];
const LEET_CODE = new Uint16Array(128);
for (const [from, to] of Object.entries({ '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's' })) LEET_CODE[from.charCodeAt(0)] = to.charCodeAt(0);

/**
 * Punctuation that pages are full of (a middle dot between links, curly quotes, dashes), taken
 * as a separator or an apostrophe without the full reading, so a page with "·" in it is not
 * read character by character. Each is kept only if the full reading agrees on it (PageFold's
 * constructor checks), so this list can only make pages faster, never read differently.
 */
const FAST_SEPARATORS = '\u00a0\u00a1\u00a2\u00a3\u00a5\u00a6\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf\u00d7\u00f7'
  + '\u2010\u2011\u2012\u2013\u2014\u2015\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2032\u2033\u2039\u203a\u20ac'
  + '\u2190\u2191\u2192\u2193\u2194\u21d2\u2212\u25aa\u25b6\u25ba\u25cf\u2605\u2606\u2713\u2714\u2715\u2716\u2717';
const FAST_APOSTROPHES = '\u2018\u2019\u02bc';
/** Texts each fast character is tried in, against the full reading. */
const FAST_CHECKS = ['#', 'a#b', 'ab#cd', 'AB#CD', 'ab#', '#ab', '1#2', 'a1#b', 'k1ll#', '#k1ll', '$#a', 'a$#$5', "a#'b", "a'#b", '##', 'a##b', 'don#t', 'a # b', '# #', '7#a',
  '3:15#pm', '3#15pm', '3.15#pm', '3#pm', '3:15pm#'];
/** Nearby words that also need the full reading are read with a word that does, up to this many words on. */
const SLOW_LOOKAHEAD = 3;

/**
 * foldText(readCharacters(text)) for page text, written into the workspace. Both are
 * word-local: every change they make stays between two spaces, so the text can be read a word
 * at a time. Words of ASCII (and the fast punctuation above) are folded here, the way
 * foldText's ASCII path does; any other word, with its neighbours of the same kind, goes
 * through readCharacters and foldText themselves.
 */
export class PageFold implements TokenEnds {
  private readonly cls = new Uint8Array(0x10000).fill(UNSAFE);
  /**
   * Where the last text folded had a newline, the boundary of two blocks (page-text.ts keeps one
   * where paragraphs, posts and list items meet): breaks[0 .. breakCount), offsets in the folded
   * output, in order. A newline inside a word read the full way (next to a character only the
   * full reading knows) is not recorded: the blocks on both sides of it are read as one.
   */
  breaks: Int32Array = new Int32Array(64);
  breakCount = 0;
  /** An emoji stand-in could match in ASCII (or spans a space): a text that is not ASCII is read whole. */
  private readonly wholeOnly: boolean;

  constructor(private readonly emoji: EmojiMap) {
    const cls = this.cls;
    for (let c = 0; c < 128; c++) cls[c] = SEP;
    for (let c = 97; c <= 122; c++) cls[c] = LOWER;
    for (let c = 65; c <= 90; c++) cls[c] = UPPER;
    for (let c = 48; c <= 57; c++) cls[c] = DIGIT;
    for (const ch of '013457') cls[ch.charCodeAt(0)] = LEET_DIGIT;
    cls[64] = LEET_SYM;
    cls[36] = LEET_SYM;
    cls[39] = APOS;
    const inSymbols = new Set(emoji.symbols.join(''));
    this.wholeOnly = emoji.symbols.some((s) => s.includes(' ') || /^[\x00-\x7f]*$/.test(s));
    // Then ASCII words of a text that is not all ASCII may change too: only ASCII text is fast.
    if (this.wholeOnly) return;
    const probe = new TextBuffer();
    const tryAs = (chars: string, k: number): void => {
      for (const ch of chars) {
        const c = ch.charCodeAt(0);
        if (inSymbols.has(ch)) continue;
        cls[c] = k;
        const agrees = FAST_CHECKS.every((t) => {
          const text = t.replaceAll('#', ch);
          return probe.string(this.fold(text, probe)) === foldText(readCharacters(text, emoji));
        });
        if (!agrees) cls[c] = UNSAFE;
      }
    };
    tryAs(FAST_SEPARATORS, SEP);
    tryAs(FAST_APOSTROPHES, APOS);
  }

  /** Folds `text` into ws.chars; the folded length. */
  fold(text: string, ws: TextBuffer): number {
    const cls = this.cls;
    const n = text.length;
    ws.reserve(n + 1);
    let chars = ws.chars;
    let out = 0;
    let emitted = false;
    // Where the current word (between spaces) began, in the text and in the output.
    let wordStart = 0;
    let markOut = 0;
    let markEmitted = false;
    let i = 0;
    this.breakCount = 0;
    for (;;) {
      let c = 0;
      let k = SEP;
      while (i < n) {
        c = text.charCodeAt(i);
        k = cls[c]!;
        if (k !== SEP && k !== APOS) break;
        if (c === SPACE) {
          wordStart = i + 1;
          markOut = out;
          markEmitted = emitted;
        } else if (c === NEWLINE) this.addBreak(out);
        i++;
      }
      if (i >= n) break;
      const time = k === DIGIT || k === LEET_DIGIT ? this.timeEnd(text, i) : -1;
      if (time >= 0) {
        // A time of day, one token (foldText's rule 5).
        if (emitted) chars[out++] = SPACE;
        for (; i < time; i++) {
          c = timeChar(text, i);
          if (c >= 0) chars[out++] = c;
        }
        emitted = true;
        continue;
      }
      // A time may go on into the next word, which only the full reading can read: both are read so.
      if (time < -1) i = -2 - time;
      else if (k !== UNSAFE) {
        // A token, as foldText's ASCII path reads one, copied lower-cased as it is read (after
        // the space that would part it from the last one): a token of letters, nearly every
        // one, is then done.
        const start = i;
        const first = emitted ? out + 1 : out;
        let o = first;
        let bits = 0;
        for (; i < n; i++) {
          c = text.charCodeAt(i);
          k = cls[c]!;
          if (k === LOWER) chars[o++] = c;
          else if (k === UPPER) chars[o++] = c + 32;
          else if (k === SEP || k === UNSAFE) break;
          else if (k === APOS) {
            if (!(isLetter(cls[text.charCodeAt(i - 1)]) && isLetter(cls[text.charCodeAt(i + 1)]))) break;
            continue;
          } else chars[o++] = c;
          bits |= CLASS_BIT[k]!;
        }
        if (i >= n || k !== UNSAFE) {
          const letters = (bits & HAS_LETTER) !== 0;
          if (!letters && (bits & HAS_LEET_SYM) !== 0) {
            // No letters: '@' and '$' separate.
            let inPiece = false;
            for (let j = start; j < i; j++) {
              const d = text.charCodeAt(j);
              if (cls[d] === LEET_SYM) {
                inPiece = false;
                continue;
              }
              if (!inPiece) {
                if (emitted) chars[out++] = SPACE;
                inPiece = emitted = true;
              }
              chars[out++] = d;
            }
          } else {
            if ((bits & (HAS_LEET_DIGIT | HAS_LEET_SYM)) !== 0 && letters) {
              for (let j = first; j < o; j++) {
                const d = chars[j]!;
                const dk = cls[d];
                if (dk === LEET_DIGIT || dk === LEET_SYM) chars[j] = LEET_CODE[d]!;
              }
            }
            if (emitted) chars[out] = SPACE;
            out = o;
            emitted = true;
          }
          continue;
        }
      }
      // A character only the full reading knows: read this word that way, from its start.
      if (this.wholeOnly) return this.foldWhole(text, ws);
      out = markOut;
      emitted = markEmitted;
      let end = this.wordEnd(text, i);
      for (let next = this.slowWordAfter(text, end); next >= 0; next = this.slowWordAfter(text, end)) end = next;
      let piece = foldText(readCharacters(text.slice(wordStart, end), this.emoji));
      // A time read here may go on into the next word ("3 15pm", "3:15 pm"): read it with them.
      for (let next = this.timeGoesOn(piece, text, end); next >= 0; next = this.timeGoesOn(piece, text, end)) {
        end = next;
        piece = foldText(readCharacters(text.slice(wordStart, end), this.emoji));
      }
      if (piece !== '') {
        ws.reserve(out + piece.length + 1 + (n - end) + 1);
        chars = ws.chars;
        if (emitted) chars[out++] = SPACE;
        for (let q = 0; q < piece.length; q++) chars[out++] = piece.charCodeAt(q);
        emitted = true;
      }
      i = end;
    }
    return out;
  }

  /**
   * Where a time that starts at text[i] ends, as foldText reads it; else -1, and a character
   * only the full reading knows sends the word there. A time that may go on past spaces into a
   * word with such a character is for the full reading too: -2 - where that character is.
   */
  private timeEnd(text: string, i: number): number {
    const unsafe = this.unsafeWordAfterTime(text, i);
    return unsafe >= 0 ? -2 - unsafe : timeSpan(text, i, this);
  }

  /** Whether a time ends a token at text[j] (timeSpan asks): as foldText's ASCII path says, if no character only the full reading knows decides it. */
  ends(text: string, j: number): boolean {
    if (j >= text.length) return true;
    const cls = this.cls;
    const after = cls[text.charCodeAt(j)];
    if (after === SEP) return true;
    if (after !== APOS) return false;
    const next = cls[text.charCodeAt(j + 1)];
    return next !== UNSAFE && !(isLetter(cls[text.charCodeAt(j - 1)]) && isLetter(next));
  }

  /**
   * Where the first character only the full reading knows is in the word after a time that
   * starts at text[i] and is followed by spaces (its hour, or hour and minutes: "3 …", "3:15 …"),
   * which the time may take its minutes or am/pm from; else -1.
   */
  private unsafeWordAfterTime(text: string, i: number): number {
    const n = text.length;
    let j = i;
    while (j < n && j - i < 3 && isDigit(text.charCodeAt(j))) j++;
    if (j - i > 2) return -1;
    for (let groups = 0; groups < 2; groups++) {
      const c = text.charCodeAt(j);
      if (!(c === 58 || c === 104 || c === 72 || c === 46) || !isDigit(text.charCodeAt(j + 1)) || !isDigit(text.charCodeAt(j + 2))) break;
      j += 3;
    }
    if (!isTimeSpace(text.charCodeAt(j))) return -1;
    while (isTimeSpace(text.charCodeAt(j))) j++;
    // Only minutes or am/pm carry a time over, or what the full reading may make one of them.
    const first = text.charCodeAt(j);
    const a = first | 32;
    if (first < 128 && !isDigit(first) && a !== 97 && a !== 112) return -1;
    for (; j < n && text.charCodeAt(j) !== SPACE; j++) if (this.cls[text.charCodeAt(j)] === UNSAFE) return j;
    return -1;
  }

  /**
   * The end of the word after `end` when the text up to there, read in full as `piece`, ends in
   * a number that a time may go on from into that word (its minutes, or am/pm); else -1.
   */
  private timeGoesOn(piece: string, text: string, end: number): number {
    if (end >= text.length || !isDigit(piece.charCodeAt(piece.length - 1))) return -1;
    let j = end;
    while (isTimeSpace(text.charCodeAt(j))) j++;
    const c = text.charCodeAt(j);
    const a = c | 32;
    return j < text.length && (isDigit(c) || a === 97 || a === 112 || c > 127) ? this.wordEnd(text, j) : -1;
  }

  private wordEnd(text: string, i: number): number {
    while (i < text.length && text.charCodeAt(i) !== SPACE) i++;
    return i;
  }

  /** The end of a word within SLOW_LOOKAHEAD words after `end` that needs the full reading, or -1. */
  private slowWordAfter(text: string, end: number): number {
    const n = text.length;
    let j = end;
    for (let look = 0; look < SLOW_LOOKAHEAD; look++) {
      while (j < n && text.charCodeAt(j) === SPACE) j++;
      if (j >= n) return -1;
      let slow = false;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === SPACE) break;
        if (this.cls[c] === UNSAFE) slow = true;
      }
      if (slow) return j;
    }
    return -1;
  }

  private addBreak(at: number): void {
    if (this.breakCount > 0 && this.breaks[this.breakCount - 1] === at) return;
    if (this.breakCount === this.breaks.length) {
      const grown = new Int32Array(2 * this.breaks.length);
      grown.set(this.breaks);
      this.breaks = grown;
    }
    this.breaks[this.breakCount++] = at;
  }

  private foldWhole(text: string, ws: TextBuffer): number {
    this.breakCount = 0;
    const folded = foldText(readCharacters(text, this.emoji));
    ws.reserve(folded.length);
    for (let q = 0; q < folded.length; q++) ws.chars[q] = folded.charCodeAt(q);
    return folded.length;
  }
}

function isLetter(k: number | undefined): boolean {
  return k === LOWER || k === UPPER;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A space a time's parts may stand apart by (normalise-text.ts, rule 5). */
function isTimeSpace(c: number): boolean {
  return c === SPACE || c === NO_BREAK_SPACE;
}
