// The readable text of a fetched page, for the phrase scan: the bytes decoded in the charset a
// browser would pick, and for HTML only what a reader could see, every run of whitespace one
// space, except that where blocks meet (p, div, li, article, br, td, headings, …) the run is one
// newline: a post or a comment stays recoverable from the text (page-posts.ts reads them). In
// plain text a blank line is the boundary. A text that holds U+2029 (paragraph separator) has
// a boundary there too.
//
// Charset, in the order the WHATWG encoding-sniffing algorithm uses:
// 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE);
// 2. the Content-Type charset parameter;
// 3. for anything not served as text/plain, a <meta charset> or <meta http-equiv="Content-Type"
//    content="...; charset=..."> in the first 1024 bytes (UTF-16 named there means UTF-8, and
//    x-user-defined means windows-1252, as the prescan says);
// 4. UTF-8 when the bytes are valid UTF-8 (a sequence cut off by the end of the body still
//    counts, because the proxy may hand over only a page's first bytes, unless everything before
//    it is ASCII), else windows-1252.
// A label TextDecoder does not know is ignored and the next step is tried. The labels that
// WHATWG maps to its "replacement" decoder (ISO-2022-KR and kin) are ignored too, because a
// filter is better off reading the bytes somehow than reading nothing.
//
// HTML or text: text/html and XHTML are HTML and text/plain is text, whatever they hold (as a
// browser renders them); any other or no type is HTML when the body opens, after whitespace, with
// one of the WHATWG MIME sniffing HTML patterns (<!doctype html, <html, <head, <body, <p, <div,
// <a, <br, <script, ..., <!--), or when a common HTML tag (<meta, <title, <span, <li, ...)
// appears in its first 1024 characters. Text that is wrongly taken for HTML loses only what
// looks like markup; HTML wrongly taken for text would be scanned with its scripts.
//
// HTML is read with htmlparser2's streaming callbacks. Content a reader never sees is dropped:
// script, style, noscript, template, svg, iframe (its content is fallback markup as text),
// noembed, noframes, and every <title> but the first, which becomes `title`. <head> is not
// dropped whole: what a well-formed head holds is title, scripts, styles and void elements
// anyway, and text that strays into an unclosed head is shown by browsers as body text, so a
// page that never closes its head must not hide its body from the scan.

import { TextDecoder } from 'node:util';
import { Parser } from 'htmlparser2';
import { tidySpace } from './tidy-space.js';
import { SPEAKER_LABEL, TURN_END } from './turns.js';

export interface PageText {
  readonly title: string;
  readonly text: string;
  /** The WHATWG name of the encoding the body was decoded with, e.g. "utf-8", "windows-1252". */
  readonly charset: string;
}

export interface DecodedBody {
  readonly text: string;
  readonly charset: string;
  readonly html: boolean;
}

/** body: the bytes of a page (HTML or plain text). contentType: the response's Content-Type header if known. */
export function pageText(body: Uint8Array, contentType?: string): PageText {
  const decoded = decodeBody(body, contentType);
  if (!decoded.html) return { title: '', text: tidyPlain(decoded.text), charset: decoded.charset };
  const { title, text } = htmlText(decoded.text);
  return { title, text, charset: decoded.charset };
}

export function decodeBody(body: Uint8Array, contentType?: string): DecodedBody {
  const mime = contentType === undefined ? '' : mimeEssence(contentType);
  const plain = mime === 'text/plain';
  const text = decodeBytes(body, contentType, plain);
  const html = plain ? false : HTML_TYPES.has(mime) || looksLikeHtml(text.text);
  return { text: text.text, charset: text.charset, html };
}

// ---------------------------------------------------------------------------------------------
// Decoding

const UTF8 = 'utf-8';
const WINDOWS_1252 = 'windows-1252';
const PRESCAN_BYTES = 1024;

/** One decoder per encoding: TextDecoder keeps no state between decode() calls made without stream. */
const decoders = new Map<string, TextDecoder>();
/** Label (trimmed, lower case) to encoding name; only labels TextDecoder knows, so it stays small. */
const encodingOfLabel = new Map<string, string>();
const strictUtf8 = new TextDecoder(UTF8, { fatal: true });

function decoderFor(encoding: string): TextDecoder {
  let d = decoders.get(encoding);
  if (d === undefined) {
    d = new TextDecoder(encoding, { fatal: false });
    decoders.set(encoding, d);
  }
  return d;
}

/** The WHATWG encoding a label names, or undefined when TextDecoder does not know it. */
function encodingFor(label: string): string | undefined {
  const key = label.replace(ASCII_WS_ENDS, '').toLowerCase();
  const known = encodingOfLabel.get(key);
  if (known !== undefined) return known;
  let encoding: string;
  try {
    encoding = new TextDecoder(key).encoding;
  } catch {
    return undefined;
  }
  encodingOfLabel.set(key, encoding);
  return encoding;
}
const ASCII_WS_ENDS = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;

function decodeBytes(body: Uint8Array, contentType: string | undefined, plain: boolean): { text: string; charset: string } {
  const bom = bomEncoding(body);
  if (bom !== undefined) return { text: decode(body, bom), charset: bom };

  let encoding = contentType === undefined ? undefined : headerCharset(contentType);
  if (encoding === undefined && !plain) encoding = prescanCharset(body);
  if (encoding !== undefined) return { text: decode(body, encoding), charset: encoding };

  const whole = completeUtf8Length(body);
  let text: string;
  try {
    text = strictUtf8.decode(whole === body.length ? body : body.subarray(0, whole));
  } catch {
    return { text: decode(body, WINDOWS_1252), charset: WINDOWS_1252 };
  }
  // A body of ASCII that ends in one high byte is more likely "café" in windows-1252 than UTF-8
  // cut short: as many characters as bytes means nothing before the cut was multi-byte.
  if (whole < body.length && text.length === whole) return { text: decode(body, WINDOWS_1252), charset: WINDOWS_1252 };
  return { text, charset: UTF8 };
}

function decode(body: Uint8Array, encoding: string): string {
  const text = decoderFor(encoding).decode(body);
  return encoding === WINDOWS_1252 ? fixC1(text) : text;
}

// Node 20.18.3 and later (and 22.13 and later) decode windows-1252 as ISO-8859-1, so bytes
// 0x80-0x9F come out as C1 controls instead of the curly quotes, dashes and euro sign that
// windows-1252 pages mean by them (nodejs/node#56542, #60888). Mapping the C1 range afterwards
// is right with or without that bug: a correct decoder leaves in that range only the five bytes
// windows-1252 maps to themselves, and the table does the same.
const WINDOWS_1252_C1 = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
].map((cp) => String.fromCharCode(cp));
const C1 = /[\u0080-\u009f]/;
const C1_ALL = /[\u0080-\u009f]/g;

function fixC1(text: string): string {
  return C1.test(text) ? text.replace(C1_ALL, (ch) => WINDOWS_1252_C1[ch.charCodeAt(0) - 0x80]!) : text;
}

function bomEncoding(b: Uint8Array): string | undefined {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return UTF8;
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** The body's length less a UTF-8 sequence that the end of the body cuts short, if there is one. */
function completeUtf8Length(b: Uint8Array): number {
  const n = b.length;
  // A sequence is at most 4 bytes, so its lead byte is among the last 3 if the sequence is cut.
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const c = b[i]!;
    if (c < 0x80) return n;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return n - i < need ? i : n;
    }
  }
  return n;
}

function mimeEssence(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

/** The encoding named by the first charset parameter of a Content-Type, if TextDecoder knows it. */
function headerCharset(contentType: string): string | undefined {
  const m = CHARSET_PARAM.exec(contentType);
  if (m === null) return undefined;
  const value = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
  return encodingFor(value);
}
const CHARSET_PARAM = /;\s*charset\s*=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;]*))/i;

// The prescan works on the first 1024 bytes read one byte to one character, which is enough
// because everything it looks for is ASCII. It skips comments and reads <meta> attributes as
// the prescan does (first of a name wins); it does not reproduce the prescan's byte-exact
// tag skipping, so a '>' inside a quoted attribute of another tag may end that tag early.
const PRESCAN_TOKEN = /<!--[\s\S]*?(?:-->|$)|<meta[\s/][^>]*(?:>|$)|<[!/?]?[a-z][^>]*(?:>|$)/gi;
const META_START = /^<meta[\s/]/i;
const META_ATTR = /([^\s"'>/=][^\s"'>/=]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?/g;

function prescanCharset(body: Uint8Array): string | undefined {
  const head = latin1(body.subarray(0, PRESCAN_BYTES));
  if (head.indexOf('<') < 0) return undefined;
  PRESCAN_TOKEN.lastIndex = 0;
  for (let m = PRESCAN_TOKEN.exec(head); m !== null; m = PRESCAN_TOKEN.exec(head)) {
    const tag = m[0];
    if (!META_START.test(tag)) continue;
    const found = metaCharset(tag.slice(5));
    if (found === undefined) continue;
    if (found === 'utf-16le' || found === 'utf-16be') return UTF8;
    return found;
  }
  return undefined;
}

function metaCharset(attrs: string): string | undefined {
  const seen = new Map<string, string>();
  META_ATTR.lastIndex = 0;
  for (let a = META_ATTR.exec(attrs); a !== null; a = META_ATTR.exec(attrs)) {
    const name = a[1]!.toLowerCase();
    if (!seen.has(name)) seen.set(name, a[2] ?? a[3] ?? a[4] ?? '');
  }
  const charset = seen.get('charset');
  if (charset !== undefined) return labelOfMeta(charset);
  const content = seen.get('content');
  if (content === undefined || seen.get('http-equiv')?.toLowerCase() !== 'content-type') return undefined;
  const m = CONTENT_CHARSET.exec(content);
  if (m === null) return undefined;
  return labelOfMeta(m[1] ?? m[2] ?? m[3] ?? '');
}
const CONTENT_CHARSET = /charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))/i;

function labelOfMeta(label: string): string | undefined {
  if (label.replace(ASCII_WS_ENDS, '').toLowerCase() === 'x-user-defined') return WINDOWS_1252;
  return encodingFor(label);
}

/** One character per byte: windows-1252 maps every byte to a single UTF-16 unit, ASCII to itself. */
function latin1(b: Uint8Array): string {
  return decoderFor(WINDOWS_1252).decode(b);
}

// ---------------------------------------------------------------------------------------------
// HTML or text

const SNIFF_CHARS = 1024;
// The WHATWG MIME sniffing "HTML" patterns, each tag name followed by a space or '>' (or, here,
// '/' for <br/>), when they open the body ...
const HTML_AT_START = /^[\t\n\f\r \ufeff]*(?:<!doctype html|<(?:html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p)[\t\n\f\r />]|<!--)/i;
// ... and, anywhere in the first 1024 characters, those tags and others that only HTML pages
// start with (a page may open with <meta charset> or a bare fragment).
const HTML_EARLY = /<(?:!doctype html|(?:html|head|body|meta|link|title|script|style|noscript|base|iframe|div|span|p|br|a|b|i|em|strong|font|table|tr|td|th|ul|ol|li|h[1-6]|img|form|input|nav|header|footer|main|section|article)[\t\n\f\r />])/i;

function looksLikeHtml(text: string): boolean {
  const start = text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text;
  return HTML_AT_START.test(start) || HTML_EARLY.test(start);
}

// ---------------------------------------------------------------------------------------------
// HTML to text

/** Elements whose content a reader never sees. */
const HIDDEN = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'noembed', 'noframes']);

/** Elements a browser lays out apart from their neighbours, so their words never run together. */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'button', 'caption', 'dd', 'details', 'dialog', 'div', 'dl',
  'dt', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup',
  'hr', 'input', 'label', 'legend', 'li', 'main', 'menu', 'nav', 'ol', 'optgroup', 'option', 'output', 'p', 'pre',
  'section', 'select', 'summary', 'table', 'tbody', 'td', 'textarea', 'tfoot', 'th', 'thead', 'tr', 'ul', 'body',
  'html', 'head', 'title', 'img', 'meta', 'video', 'audio', 'object', 'embed', 'canvas', 'iframe', 'math',
]);

/**
 * Where blocks meet, the HTML reader writes BOUNDARY (a character a page's own text seldom
 * holds, and that means a paragraph break when it does). tidySpace then makes every run of
 * whitespace one space, or one newline when it holds a boundary.
 */
const BOUNDARY = '\u2029';

/** Whitespace runs to one space, no space at either end, invisible characters dropped. */
function tidy(s: string): string {
  return tidySpace(s, ' ');
}

function tidyBlocks(s: string): string {
  return tidySpace(s, '\n');
}

// In plain text a line break may only wrap a line; a blank line parts paragraphs.
const BLANK_LINE = /[^\S\n]*(?:\r\n?|\n)(?:[^\S\n\r]*(?:\r\n?|\n))+[^\S\n]*/g;
// ... except in a chat saved as text, where each line that opens with a speaker ("User: …",
// "[21:02] Maya: …", "12/03/2026, 21:02 - Maya: …") is a message of its own (turns.ts reads
// who says it). A line break before such a line parts blocks when at least CHAT_LINES lines
// open so: a note with one "Ingredients:" line still wraps as it did.
const CHAT_LINE = new RegExp(String.raw`(?:^|\r\n?|\n)(?=[^\S\n\r]*${SPEAKER_LABEL}[^\S\n\r])`, 'gu');
const CHAT_LINES = 3;

function tidyPlain(s: string): string {
  let text = s.replace(BLANK_LINE, BOUNDARY);
  CHAT_LINE.lastIndex = 0;
  let lines = 0;
  for (let m = CHAT_LINE.exec(text); m !== null && lines < CHAT_LINES; m = CHAT_LINE.exec(text)) {
    lines++;
    if (m[0] === '') CHAT_LINE.lastIndex++; // the text's start, matched empty
  }
  if (lines >= CHAT_LINES) text = text.replace(CHAT_LINE, BOUNDARY);
  return tidyBlocks(text);
}

// Chat markup that says who speaks a message: a data attribute naming the role
// (data-message-author-role="user", data-role="assistant", …) or a class that names a role and a
// message ("user-message", "msg--assistant", "message bot"). Such an element's text is opened
// with a label block, "User:" or "Assistant:", the words a screen reader's chat UI announces, so
// that turns.ts finds the turn as it finds a typed "User:" line.
const SPEAKER_ATTRIBUTES = new Set(['data-message-author-role', 'data-author-role', 'data-role', 'data-author', 'data-sender', 'data-speaker', 'data-from', 'data-sender-role', 'data-message-role']);
const PERSON_VALUES = new Set(['user', 'human', 'you', 'me', 'pupil', 'student']);
const HELPER_VALUES = new Set(['assistant', 'ai', 'bot', 'chatbot', 'model', 'gpt', 'chatgpt', 'claude', 'gemini', 'copilot']);
const CLASS_ROLE = /(?:^|[\s_-])(user|human|assistant|bot|chatbot|ai|claude|gpt)(?=$|[\s_-])/i;
const CLASS_MESSAGE = /message|msg|turn|bubble|query|prompt|response|reply/i;
const PERSON_LABEL = 'User:';
const HELPER_LABEL = 'Assistant:';
// Where such an element ends, its turn ends (TURN_END, a block of its own): what follows it (a
// message whose markup names no speaker, a sidebar) is not that speaker's.

/** The label an element's attribute gives its text, or null. */
function speakerLabel(name: string, value: string): string | null {
  if (name === 'class') {
    if (value.length < 4 || value.length > 200) return null;
    // The message word first: most classes name neither, and it is the rarer.
    if (!CLASS_MESSAGE.test(value)) return null;
    const m = CLASS_ROLE.exec(value);
    if (m === null) return null;
    const role = m[1]!.toLowerCase();
    return role === 'user' || role === 'human' ? PERSON_LABEL : HELPER_LABEL;
  }
  if (!SPEAKER_ATTRIBUTES.has(name)) return null;
  const role = value.trim().toLowerCase();
  return PERSON_VALUES.has(role) ? PERSON_LABEL : HELPER_VALUES.has(role) ? HELPER_LABEL : null;
}

// The start tag being read, for the attributes that feed the text.
const OTHER = 0;
const IMG = 1;
const META = 2;

function htmlText(html: string): { title: string; text: string } {
  let out = '';
  let title = '';
  let hidden = 0; // depth inside HIDDEN elements
  let titleDepth = 0; // depth inside title elements
  let titleTaken = false;
  let inFirstTitle = false;
  let tag = OTHER;
  // The first of two attributes of one name wins, as in HTML.
  let alt: string | undefined;
  let metaName: string | undefined;
  let metaContent: string | undefined;
  let labelled = false; // the start tag being read has written its speaker's label
  let depth = 0; // of the element being read
  const turnDepths: number[] = []; // of the open elements that named a speaker, innermost last
  let spaced = true; // the last thing pushed was a block boundary, so another is not needed
  const gap = (): void => {
    if (!spaced) {
      out += BOUNDARY;
      spaced = true;
    }
  };

  const parser = new Parser(
    {
      onopentagname(name) {
        if (HIDDEN.has(name)) hidden++;
        else if (name === 'title') {
          titleDepth++;
          if (!titleTaken && hidden === 0) {
            titleTaken = true;
            inFirstTitle = true;
          }
        }
        if (BLOCK.has(name)) gap();
        tag = name === 'img' ? IMG : name === 'meta' ? META : OTHER;
        if (tag !== OTHER) alt = metaName = metaContent = undefined;
        labelled = false;
        depth++;
      },
      onattribute(name, value) {
        if (tag === OTHER) {
          // Only class and data-* attributes can name a speaker: one comparison for the rest.
          if (!labelled && hidden === 0 && (name === 'class' || name.startsWith('data-'))) {
            const label = speakerLabel(name, value);
            if (label !== null) {
              labelled = true;
              gap();
              out += label + BOUNDARY;
              turnDepths.push(depth);
            }
          }
        } else if (tag === IMG) {
          if (name === 'alt') alt ??= value;
        } else if (tag === META) {
          if (name === 'name') metaName ??= value;
          else if (name === 'content') metaContent ??= value;
        }
      },
      // For void elements (img, meta) htmlparser2 calls this as soon as the start tag ends.
      onclosetag(name) {
        if (hidden === 0) {
          if (tag === IMG && name === 'img' && alt) {
            gap();
            out += alt + BOUNDARY;
          } else if (tag === META && name === 'meta' && metaContent && metaName?.trim().toLowerCase() === 'description') {
            gap();
            out += metaContent + BOUNDARY;
          }
        }
        tag = OTHER;
        if (HIDDEN.has(name)) hidden--;
        else if (name === 'title') {
          titleDepth--;
          inFirstTitle = false;
        }
        if (BLOCK.has(name)) gap();
        if (turnDepths.length > 0 && turnDepths[turnDepths.length - 1] === depth) {
          turnDepths.pop();
          gap();
          out += TURN_END + BOUNDARY;
        }
        depth--;
      },
      ontext(data) {
        if (hidden !== 0) return;
        if (titleDepth !== 0) {
          if (inFirstTitle) title += data;
          return;
        }
        out += data;
        spaced = false;
      },
    },
    // Lower-casing attribute names measured no slower on a 64 KiB page than leaving them as written.
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  return { title: tidy(title), text: tidyBlocks(out) };
}
