// How servers read a path differently from the URL standard. The WHATWG parser (and so the
// normalised path) keeps %2F inside a segment, and '..;' and "secret%20" are ordinary segments
// to it; but Apache with AllowEncodedSlashes, IIS, some Node and Python routers decode %2F and
// %5C before routing, Tomcat and Spring strip ";name=value" path parameters from every segment
// (so "..;" is ".."), Spring used to trim white space from each segment, Windows servers drop
// a file name's trailing dots and spaces, and C-based servers stop at a NUL. A URL entry must
// match the path as any of them would serve it, so matching compares these readings too.
//
// Every function here is a pure function of the path: a reading of a reading is the same
// reading, so both sides of a comparison (request and list entry) can be read the same way.

/** Characters a decoding server turns an escape back into: unreserved ones, '/', '\' and '%' (so %252F is read as %2F, then '/'). */
const DECODED = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) DECODED[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) DECODED[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) DECODED[c] = 1;
for (const c of '-._~/\\%') DECODED[c.charCodeAt(0)] = 1;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * True when every reading of `path` is `path` itself: no escapes, no ';', no white space, no
 * segment ending in '.', no empty segment. The common case, checked in one cheap pass.
 */
export function pathIsPlain(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  let prev = 47;
  for (let j = 1; j < path.length; j++) {
    const c = path.charCodeAt(j);
    if (c <= 32 || c === 37 /* % */ || c === 59 /* ; */ || c === 92 /* \ */) return false;
    if (c === 47 && (prev === 47 || prev === 46)) return false;
    prev = c;
  }
  return prev !== 46;
}

/**
 * Decodes escapes as a server that decodes any number of times would: %2F and %5C become
 * separators, %25 followed by an escape is that escape, escapes of unreserved characters are
 * decoded. Other escapes (%20, %3F, …) stay as written, and a '%' that starts none is written
 * %25 again. Stops at a NUL (%00). One pass, so linear: each decoded character may complete an
 * escape with what precedes it, as a second decode would.
 */
function unescapeAll(path: string): string {
  const out: number[] = [];
  for (let j = 0; j < path.length; j++) {
    const c = path.charCodeAt(j);
    if (c === 0) break;
    out.push(c);
    for (;;) {
      const n = out.length;
      if (n < 3 || out[n - 3] !== 37) break;
      const h = hexValue(out[n - 2]!);
      const l = hexValue(out[n - 1]!);
      if (h < 0 || l < 0) break;
      const v = h * 16 + l;
      if (v === 0) return fromCodes(out, n - 3);
      if (DECODED[v] !== 1) break;
      out.length = n - 3;
      out.push(v);
    }
  }
  return fromCodes(out, out.length);
}

/** The decoded path as a string, a '%' that starts no escape written %25, as the normaliser writes it. */
function fromCodes(codes: readonly number[], end: number): string {
  let s = '';
  let from = 0;
  for (let k = 0; k < end; k++) {
    if (codes[k] !== 37 || (k + 2 < end && hexValue(codes[k + 1]!) >= 0 && hexValue(codes[k + 2]!) >= 0)) continue;
    s += slice(codes, from, k) + '%25';
    from = k + 1;
  }
  return s + slice(codes, from, end);
}

/** Built in slices, so a long path never overflows the stack with its spread. */
function slice(codes: readonly number[], from: number, to: number): string {
  let s = '';
  for (let k = from; k < to; k += 8192) s += String.fromCharCode(...codes.slice(k, Math.min(k + 8192, to)));
  return s;
}

/** Length of the white space (a control, a space, or an escape of one) starting at `at`, or 0. */
function spaceAt(s: string, at: number): number {
  const c = s.charCodeAt(at);
  if (c <= 32) return 1;
  if (c !== 37) return 0;
  const h = hexValue(s.charCodeAt(at + 1));
  const l = hexValue(s.charCodeAt(at + 2));
  return h >= 0 && l >= 0 && h * 16 + l <= 32 ? 3 : 0;
}

/** Length of the white space ending just before `end`, or 0. */
function spaceBefore(s: string, end: number): number {
  if (end < 1) return 0;
  if (s.charCodeAt(end - 1) <= 32) return 1;
  return end >= 3 && spaceAt(s, end - 3) === 3 ? 3 : 0;
}

function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  for (let k; a < b && (k = spaceAt(s, a)) > 0;) a += k;
  for (let k; b > a && (k = spaceBefore(s, b)) > 0;) b -= k;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** White space, then trailing dots and white space (Windows drops both from a file name). */
function trimName(s: string): string {
  let t = trimSpace(s);
  for (;;) {
    let b = t.length;
    while (b > 0 && t.charCodeAt(b - 1) === 46) b--;
    if (b === t.length) return t;
    t = trimSpace(t.slice(0, b));
  }
}

/**
 * The path as the servers described above read it: escapes decoded (see unescapeAll), '\' a
 * separator, each segment's white space and trailing dots trimmed, a segment whose name
 * before ';' is '.' or '..' read as that dot segment, dot segments resolved and empty
 * segments dropped. With `dropParams` it is Tomcat's reading: every segment's ";…" is dropped
 * first, as written (so an escape inside a parameter never becomes a separator), then the rest
 * is read. Without, parameters are kept, so an entry that names one is still compared with it.
 * A trailing slash is kept, as normalisePath keeps it.
 */
export function readPath(path: string, dropParams: boolean): string {
  const decoded = unescapeAll(dropParams && path.includes(';') ? withoutParams(path) : path);
  const segments = decoded.split(/[/\\]/);
  const out: string[] = [];
  let trailing = false;
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!;
    const semi = seg.indexOf(';');
    const name = semi < 0 ? seg : seg.slice(0, semi);
    const params = semi < 0 ? '' : seg.slice(semi);
    const spaced = trimSpace(name);
    trailing = true;
    if (spaced === '.') continue;
    if (spaced === '..') {
      out.pop();
      continue;
    }
    const kept = trimName(spaced) + params;
    if (kept === '') continue;
    out.push(kept);
    trailing = false;
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}

/** Each segment's ";…" dropped, on the path as written. */
function withoutParams(path: string): string {
  return path.replace(/;[^/\\]*/g, '');
}
