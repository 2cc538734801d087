// Generators of URLs and of other spellings of them, for the property tests of the normaliser
// and of URL-list matching. Synthetic hosts only (example.test, example.invalid, example.com).
import fc from 'fast-check';

const hex = (c: number, upper: boolean): string => {
  const h = c.toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h}`;
};

const UNRESERVED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
const RESERVED_ESCAPES = ['%2F', '%3F', '%23', '%20', '%25', '%3B', '%C3%A9'];
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
export const host = fc.tuple(fc.array(label, { maxLength: 3 }), fc.constantFrom('example.test', 'example.invalid', 'example.com'))
  .map(([ls, tail]) => [...ls, tail].join('.'));
/** A segment: unreserved characters and escapes of reserved ones, never a dot segment. */
export const segment = fc.array(fc.oneof(fc.constantFrom(...UNRESERVED), fc.constantFrom(...RESERVED_ESCAPES)), { minLength: 1, maxLength: 6 })
  .map((p) => p.join(''))
  .filter((s) => s !== '.' && s !== '..');
const query = fc.array(fc.stringMatching(/^[a-z0-9]{1,4}=[a-zA-Z0-9._~-]{0,4}$/), { maxLength: 3 }).map((p) => p.join('&'));

export interface Parts {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly segments: readonly string[];
  readonly trailingSlash: boolean;
  readonly query: string;
}
export const parts: fc.Arbitrary<Parts> = fc.record({
  scheme: fc.constantFrom('http' as const, 'https' as const),
  host,
  segments: fc.array(segment, { maxLength: 5 }),
  trailingSlash: fc.boolean(),
  query,
});

export function plainUrl(p: Parts): string {
  const path = '/' + p.segments.join('/') + (p.trailingSlash && p.segments.length > 0 ? '/' : '');
  return `${p.scheme}://${p.host}${path}${p.query === '' ? '' : `?${p.query}`}`;
}

/** Choices that drive a re-spelling; each is one thing browsers (and so the normaliser) ignore. */
export interface Respelling {
  readonly schemeCase: boolean[];
  readonly hostCase: boolean[];
  readonly trailingDot: boolean;
  readonly defaultPort: boolean;
  readonly userinfo: boolean;
  readonly encode: boolean[];
  readonly hexUpper: boolean[];
  readonly dotSegments: number[];
  readonly doubleSlash: number[];
  readonly backslash: number[];
  readonly fragment: string | null;
  readonly tab: number | null;
}
const flags = fc.array(fc.boolean(), { minLength: 64, maxLength: 64 });
export const respelling: fc.Arbitrary<Respelling> = fc.record({
  schemeCase: flags, hostCase: flags, trailingDot: fc.boolean(), defaultPort: fc.boolean(), userinfo: fc.boolean(),
  encode: flags, hexUpper: flags,
  dotSegments: fc.array(fc.nat(6), { maxLength: 3 }), doubleSlash: fc.array(fc.nat(6), { maxLength: 2 }), backslash: fc.array(fc.nat(6), { maxLength: 2 }),
  fragment: fc.option(fc.stringMatching(/^[a-z0-9/?#]{0,6}$/), { nil: null }),
  tab: fc.option(fc.nat(200), { nil: null }),
});

const flip = (s: string, f: readonly boolean[]): string => Array.from(s, (c, i) => (f[i % f.length] ? c.toUpperCase() : c)).join('');

/** Re-spells one segment's characters: unreserved ones percent-encoded, escapes in either case. */
function respellSegment(seg: string, r: Respelling, salt: number): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const k = (i + salt) % 64;
    if (seg[i] === '%') {
      const h = seg.slice(i + 1, i + 3);
      out += '%' + (r.hexUpper[k] ? h.toUpperCase() : h.toLowerCase());
      i += 2;
    } else out += r.encode[k] ? hex(seg.charCodeAt(i), r.hexUpper[k]!) : seg[i];
  }
  return out;
}

export function respell(p: Parts, r: Respelling): string {
  const segs = p.segments.map((s, i) => respellSegment(s, r, i * 7));
  // Repeated slashes (an empty segment) and dot segments that cancel out ("./", "x/../"), each
  // before a segment: at the end they would add a trailing slash, and "//.." is not "/..".
  if (segs.length > 0) {
    for (const at of r.doubleSlash) segs.splice(at % segs.length, 0, '');
    for (const at of r.dotSegments) segs.splice(at % segs.length, 0, at % 2 === 0 ? '.' : `x${at}/..`);
  }
  let path = '/' + segs.join('/') + (p.trailingSlash && p.segments.length > 0 ? '/' : '');
  for (const at of r.backslash) path = insertAtSlash(path, at, '\\');
  let q = '';
  if (p.query !== '') q = '?' + p.query.split('').map((c, i) => (/[a-zA-Z0-9._~-]/.test(c) && r.encode[(i + 31) % 64] ? hex(c.charCodeAt(0), r.hexUpper[i % 64]!) : c)).join('');
  const port = r.defaultPort ? (p.scheme === 'http' ? ':80' : ':443') : '';
  const hostText = flip(p.host, r.hostCase) + (r.trailingDot ? '.' : '');
  let url = `${flip(p.scheme, r.schemeCase)}://${r.userinfo ? 'user:pw@' : ''}${hostText}${port}${path}${q}${r.fragment === null ? '' : `#${r.fragment}`}`;
  // A tab or newline anywhere after the scheme is dropped by browsers (before percent-decoding).
  if (r.tab !== null) {
    const at = 8 + (r.tab % Math.max(1, url.length - 8));
    url = url.slice(0, at) + (r.tab % 2 === 0 ? '\t' : '\n') + url.slice(at);
  }
  return url;
}

/** Replaces the n-th '/' of the path (wrapping) with `by` (browsers read '\\' in an http(s) path as '/'). */
function insertAtSlash(path: string, n: number, by: string): string {
  const slashes: number[] = [];
  for (let i = 0; i < path.length; i++) if (path[i] === '/') slashes.push(i);
  if (slashes.length === 0) return path;
  const at = slashes[n % slashes.length]!;
  return path.slice(0, at) + by + path.slice(at + 1);
}

