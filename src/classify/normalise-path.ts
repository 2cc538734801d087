// Path normalisation shared by requests and URL-list entries, so both sides of a comparison
// are spelled the same way: '\' read as '/', percent-escapes of unreserved characters
// decoded (so /%67ames is /games), other escapes in upper case, non-ASCII and spaces
// percent-encoded as UTF-8, dot segments resolved and repeated slashes folded.

const HEX = '0123456789ABCDEF';

/** Cheap check for the common path that is already in normal form. */
export function pathIsCanonical(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  let prev = 47;
  for (let j = 1; j < path.length; j++) {
    const c = path.charCodeAt(j);
    if (c <= 32 || c > 126 || c === 37 /* % */ || c === 92 /* \ */) return false;
    if (c === 47 && prev === 47) return false;
    if (c === 46 && prev === 47) {
      // "/." starts a dot segment only when the segment is "." or ".."
      const n1 = path.charCodeAt(j + 1);
      if (j + 1 === path.length || n1 === 47) return false;
      if (n1 === 46 && (j + 2 === path.length || path.charCodeAt(j + 2) === 47)) return false;
    }
    prev = c;
  }
  return true;
}

function isUnreserved(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

const HAS_TAB_OR_NEWLINE = /[\t\n\r]/;
const TAB_OR_NEWLINE = /[\t\n\r]/g;

/** Percent-decoding of unreserved characters and encoding of everything unsafe. */
function canonicalEscapes(input: string, inPath = true): string {
  // Browsers drop tabs and newlines anywhere in a URL before reading escapes, so "%7\t2" is %72.
  const raw = HAS_TAB_OR_NEWLINE.test(input) ? input.replace(TAB_OR_NEWLINE, '') : input;
  let out = '';
  for (let j = 0; j < raw.length; j++) {
    const c = raw.charCodeAt(j);
    if (c === 92 && inPath) { out += '/'; continue; }
    if (c === 37) {
      const h = hexValue(raw.charCodeAt(j + 1));
      const l = hexValue(raw.charCodeAt(j + 2));
      if (h >= 0 && l >= 0) {
        const v = h * 16 + l;
        out += isUnreserved(v) ? String.fromCharCode(v) : '%' + HEX[h]! + HEX[l]!;
        j += 2;
      } else out += '%25';
      continue;
    }
    if (c <= 32 || c > 126) {
      const cp = raw.codePointAt(j)!;
      if (cp > 0xffff) j++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += '%' + HEX[b >> 4]! + HEX[b & 15]!;
      continue;
    }
    out += raw[j];
  }
  return out;
}

/**
 * A query in the form both sides compare in: escapes of unreserved characters decoded
 * (?id=%38 is ?id=8, as the server reads it), other escapes in upper case. Everything else,
 * '+', '&' and '=' included, is left as written.
 */
export function normaliseQuery(raw: string): string {
  return raw.includes('%') ? canonicalEscapes(raw, false) : raw;
}

export function normalisePath(raw: string): string {
  const escaped = canonicalEscapes(raw);
  const segments = escaped.split('/');
  const out: string[] = [];
  const trailing = escaped.endsWith('/') || escaped.endsWith('/.') || escaped.endsWith('/..');
  for (const s of segments) {
    if (s === '' || s === '.') continue;
    if (s === '..') { out.pop(); continue; }
    out.push(s);
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}
