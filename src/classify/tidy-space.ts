// Whitespace tidying for a page's text, in one pass over its characters. It does what three
// regular-expression passes did (drop invisible characters; every run of whitespace but U+2029 to
// one space; every run of spaces and U+2029 to one newline; no space or newline at either end),
// which cost as much as a sixth of reading a 64 KiB page's HTML (bench/RESULTS.md, "Page path
// without repeated work"). A run that is already one space, nearly every run, is left in place,
// so the text is copied in a few long slices, not rebuilt.

/** What a run of whitespace that holds a U+2029 (paragraph separator) becomes. */
export type BoundaryAs = '\n' | ' ';

/**
 * s with invisible characters (soft hyphen, zero-width space, (non-)joiner, word joiner,
 * zero-width no-break space) dropped, so that "ki&shy;ll" reads as one word; every run of
 * whitespace (JavaScript's \s) one space, or `boundary` when it holds a U+2029; and none at
 * either end.
 */
export function tidySpace(s: string, boundary: BoundaryAs): string {
  const n = s.length;
  let out = '';
  // s[from, i) is still to be appended as it is.
  let from = 0;
  // A visible character came before i: a run here is not at the start.
  let seen = false;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    // Printable ASCII, nearly every character of a page, is neither: one comparison.
    if ((c > SPACE && c < 0x7f) || (!isInvisible(c) && !isSpace(c))) {
      seen = true;
      i++;
      continue;
    }
    // The run [i, j) of whitespace and invisible characters.
    let j = i;
    let spaces = 0;
    let paragraph = false;
    for (; j < n; j++) {
      const d = s.charCodeAt(j);
      if (isInvisible(d)) continue;
      if (!isSpace(d)) break;
      spaces++;
      if (d === PARAGRAPH) paragraph = true;
    }
    const by = spaces === 0 ? '' : !seen || j === n ? '' : paragraph ? boundary : ' ';
    // One plain space between words stays where it is.
    if (!(by === ' ' && j === i + 1 && c === SPACE)) {
      out += s.slice(from, i) + by;
      from = j;
    }
    i = j;
  }
  return from === 0 ? s : out + s.slice(from);
}

const SPACE = 0x20;
const PARAGRAPH = 0x2029;

/** The characters tidySpace drops. U+FEFF is also whitespace to \s; dropped, as the regex passes did first. */
function isInvisible(c: number): boolean {
  return c === 0xad || (c >= 0x200b && c <= 0x200d) || c === 0x2060 || c === 0xfeff;
}

/** JavaScript's \s (WhiteSpace and LineTerminator): what String.prototype.trim strips. */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === SPACE || (c >= 0x09 && c <= 0x0d);
  if (c < 0x1680) return c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === PARAGRAPH || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
