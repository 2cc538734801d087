// Properties of the URL-list boundary rule over generated entries and requests: an entry that
// covers a URL covers every spelling of it a browser or a common server treats as the same path
// (README "Matching"), and never a path that only shares a prefix with it. Fixed seeds.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { entryCovers, parseUrlEntry, requestKeys, type Reach, type UrlEntry } from '../../src/classify/parse-list.js';
import { pathIsPlain, readPath } from '../../src/classify/path-readings.js';
import { buildFrom, tempDir } from '../helpers/lists.js';
import { host, parts, respell, respelling, segment, type Parts } from '../helpers/url-spellings.js';

const RUNS = { numRuns: 1000, seed: 612 };

function entryOf(text: string): UrlEntry {
  const e = parseUrlEntry(text);
  if (typeof e === 'string') throw new Error(`test entry ${text} refused: ${e}`);
  return e;
}
const covers = (e: UrlEntry, url: string, reach: Reach): boolean => entryCovers(requestKeys(normaliseUrl(url)), e.key, e.readKey, reach);

/** An entry path: one to four segments, none of them all dots, so the entry is a real folder or page. */
const entryPath = fc.array(segment.filter((s) => !/^\.+$/.test(s)), { minLength: 1, maxLength: 4 });

/** What a server reads as the same path, applied to a list of segments: each choice is one rule of path-readings.ts. */
type Trick =
  | { kind: 'encoded-slash'; at: number; spelling: string }
  | { kind: 'detour'; at: number; spelling: string }
  | { kind: 'param'; at: number; text: string }
  | { kind: 'trim'; at: number; lead: string; trail: string };
const trick: fc.Arbitrary<Trick> = fc.oneof(
  fc.record({ kind: fc.constant('encoded-slash' as const), at: fc.nat(8), spelling: fc.constantFrom('%2F', '%2f', '%5C', '%5c', '%252F', '%25252f', '\\') }),
  // A plain "x/../" is resolved by the browser (and the normaliser) before any server reads the
  // path, so it is the first property's business; these detours survive to the server.
  fc.record({ kind: fc.constant('detour' as const), at: fc.nat(8), spelling: fc.constantFrom('x/..;/', 'x/..;a=1/', 'x/..%2F', 'x%2F..%2F', 'x%2f%2e%2e%2f', 'x/%252e%252e%252f', 'x/.;/..;/', 'x/..%20/', 'x/..%5C') }),
  fc.record({ kind: fc.constant('param' as const), at: fc.nat(8), text: fc.constantFrom(';jsessionid=0A1B', ';', ';a=b;c=d', ';x%2Fy') }),
  fc.record({ kind: fc.constant('trim' as const), at: fc.nat(8), lead: fc.constantFrom('', '%20', '%09', '%20%0a'), trail: fc.constantFrom('', '%20', '%09', '.', '%2e', '.%20.', '%0D%0A', '%2520') }),
);

function applyTricks(segments: readonly string[], tricks: readonly Trick[]): string {
  const segs = [...segments];
  // Separators: one per gap between segments, each '/' or a spelling of it.
  const seps = segs.map(() => '/');
  const params = new Set<number>();
  for (const t of tricks) {
    const i = t.at % segs.length;
    // Servers drop a parameter as written, up to the next real '/': a parameter before an
    // encoded separator would swallow the segments after it, so the two are not combined.
    if (t.kind === 'encoded-slash' && i > 0 && !params.has(i - 1)) seps[i] = t.spelling;
    else if (t.kind === 'detour') segs[i] = t.spelling + segs[i];
    else if (t.kind === 'param' && (i + 1 === segs.length || seps[i + 1] === '/')) {
      segs[i] = segs[i] + t.text;
      params.add(i);
    } else if (t.kind === 'trim' && !(/\.|%2e/i.test(t.trail) && /(?:%2F|%5C)(?:\.|%2e)*$/i.test(segs[i]!))) {
      // (Dots after an encoded slash would make a ".." segment, not trailing dots.)
      segs[i] = t.lead + segs[i] + t.trail;
    }
  }
  return segs.map((s, i) => seps[i] + s).join('');
}

/** After the entry's path: nothing, or a boundary and more. */
const tail = fc.constantFrom('', '/', '/more', '/a/b.html', '?q=1', '?', ';p=1', '/x?y=2', '%2Fmore', '%20/more');

describe('URL entries and equivalent spellings', () => {
  it('an entry covers every spelling browsers treat as its URL (and the paths below it)', () => {
    fc.assert(fc.property(parts, respelling, tail, (p, r, after) => {
      fc.pre(p.segments.length > 0 && readPath(`/${p.segments.join('/')}`, false) !== '/');
      const e = entryOf(`${p.host}/${p.segments.join('/')}`);
      const below: Parts = { ...p, trailingSlash: false, query: '' };
      const url = respell(below, { ...r, fragment: null, tab: null }) + after;
      expect(covers(e, url, 'any')).toBe(true);
      // Browser-level spellings change no reading, so an allow entry covers them too.
      if (!/%2F|%20|;|\\/i.test(after) && !p.segments.some((s) => /%2F|%20|%25|%3B/i.test(s))) expect(covers(e, url, 'every')).toBe(true);
    }), RUNS);
  });

  it('an entry covers every spelling a common server reads as its path: %2F, "..;", parameters, white space, trailing dots, double encoding', () => {
    fc.assert(fc.property(host, entryPath, fc.array(trick, { maxLength: 4 }), tail, fc.boolean(), (h, segs, tricks, after, upper) => {
      // An entry that reads as the site's root ("host/%2F") is kept as written, never widened to the site.
      fc.pre(readPath(`/${segs.join('/')}`, false) !== '/');
      const e = entryOf(`${h}/${segs.join('/')}`);
      let path = applyTricks(segs, tricks) + after;
      if (upper) path = path.toUpperCase();
      expect(covers(e, `https://${h}${path}`, 'any')).toBe(true);
    }), RUNS);
  });

  it('never covers a path that only shares a prefix with the entry', () => {
    const more = fc.tuple(fc.constantFrom(...'abcxyz019-_~'), fc.stringMatching(/^[a-z0-9]{0,4}$/)).map(([c, s]) => c + s);
    // The entry ends in a letter: one ending in %2F or %20 ends in a boundary when read.
    const ending = entryPath.map((s) => [...s.slice(0, -1), `${s.at(-1)}z`]);
    fc.assert(fc.property(host, ending, more, fc.array(trick, { maxLength: 3 }), (h, segs, extra, tricks) => {
      const e = entryOf(`${h}/${segs.join('/')}`);
      // The last segment runs on without a boundary ("/secret" -> "/secretary"), however the rest is spelled.
      const path = applyTricks(segs, tricks.filter((t) => t.at % segs.length !== segs.length - 1 || t.kind === 'detour' || t.kind === 'encoded-slash'));
      for (const reach of ['any', 'every'] as const) expect(covers(e, `https://${h}${path}${extra}`, reach)).toBe(false);
    }), RUNS);
  });

  it('every reading covered implies some reading covered, and on a plain path the two agree', () => {
    fc.assert(fc.property(host, entryPath, fc.array(trick, { maxLength: 3 }), tail, (h, segs, tricks, after) => {
      const e = entryOf(`${h}/${segs.join('/')}`);
      const url = `https://${h}${applyTricks(segs.slice(0, 1 + (tricks.length % segs.length)), tricks)}${after}`;
      const every = covers(e, url, 'every');
      const any = covers(e, url, 'any');
      if (every) expect(any).toBe(true);
      if (pathIsPlain(normaliseUrl(url).path) && e.readKey === e.key) expect(every).toBe(any);
    }), RUNS);
  });

  it('an entry parsed from its own key has the same keys', () => {
    // (A '\\' in an entry is refused as regex syntax, so not that spelling.)
    const inEntry = trick.filter((t) => t.kind !== 'encoded-slash' || t.spelling !== '\\');
    fc.assert(fc.property(host, entryPath, fc.array(inEntry, { maxLength: 3 }), (h, segs, tricks) => {
      const e = entryOf(`${h}/${applyTricks(segs, tricks).slice(1)}`);
      fc.pre(e.key !== '');
      const again = entryOf(`${e.host}${e.key}`);
      expect([again.key, again.readKey]).toEqual([e.key, e.readKey]);
    }), RUNS);
  });
});

describe('path readings', () => {
  const anyPath = fc.oneof(
    fc.array(fc.constantFrom('/', 'a', 'B', '.', '..', ';', '=', '%', '%2', '%2F', '%2f', '%5C', '%25', '%252F', '%20', '%09', '%00', '%41', '%2e', '\\', ' ', '\t', 'é'), { maxLength: 16 }).map((p) => '/' + p.join('')),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => '/' + s),
  );
  it('a reading of a reading is the same reading', () => {
    fc.assert(fc.property(anyPath, fc.boolean(), (path, drop) => {
      const once = readPath(path, drop);
      expect(readPath(once, drop)).toBe(once);
      expect(once.startsWith('/')).toBe(true);
      expect(once).not.toMatch(/\/\/|\/\.\.?(?:\/|$)/);
    }), { ...RUNS, numRuns: 3000 });
  });

  it('a plain path reads as itself', () => {
    fc.assert(fc.property(anyPath, (path) => {
      if (pathIsPlain(path)) expect([readPath(path, false), readPath(path, true)]).toEqual([path, path]);
    }), { ...RUNS, numRuns: 3000 });
  });

  it('reading the normalised path gives the same as reading any spelling of it', () => {
    fc.assert(fc.property(parts, respelling, (p, r) => {
      const a = normaliseUrl(respell(p, r)).path;
      const b = normaliseUrl(respell(p, { ...r, encode: r.encode.map((x) => !x) })).path;
      expect(readPath(a, true)).toBe(readPath(b, true));
    }), RUNS);
  });
});

describe('the matcher, with its first-segment index, agrees', () => {
  // Entries generated once (fixed seed) into real list files: one host with many entries, so
  // they are indexed by first segment, and one with a single entry.
  const tmp = tempDir();
  afterAll(tmp.cleanup);
  const paths = fc.sample(entryPath.filter((s) => readPath(`/${s.join('/')}`, false) !== '/'), { seed: 7, numRuns: 24 });
  const manyHost = 'many.example.test';
  const oneHost = 'one.example.test';
  const t = buildFrom(`${tmp.dir}/prop`, [
    { name: 'many', files: { urls: paths.map((s) => `${manyHost}/${s.join('/')}`).join('\n') + '\n' } },
    { name: 'one', files: { urls: `${oneHost}/${paths[0]!.join('/')}\n` } },
    { name: 'allow', category: 'education', role: 'allow', files: { urls: paths.slice(0, 4).map((s) => `${manyHost}/${s.join('/')}`).join('\n') + '\n' } },
  ]);

  it('blocks every server spelling of every entry', () => {
    fc.assert(fc.property(fc.nat(paths.length - 1), fc.array(trick, { maxLength: 4 }), tail, (i, tricks, after) => {
      const segs = paths[i]!;
      const path = applyTricks(segs, tricks) + after;
      expect(t.categories(`https://${manyHost}${path}`)).toContain('many');
      if (i === 0) expect(t.categories(`https://${oneHost}${path}`)).toContain('one');
    }), { ...RUNS, numRuns: 500 });
  });

  it('an allow entry wins only where every reading is inside it', () => {
    fc.assert(fc.property(fc.nat(3), fc.array(trick, { maxLength: 3 }), tail, (i, tricks, after) => {
      const url = `https://${manyHost}${applyTricks(paths[i]!, tricks)}${after}`;
      const e = entryOf(`${manyHost}/${paths[i]!.join('/')}`);
      const allowed = t.match(url).some((m) => m.role === 'allow' && m.entry === `${manyHost}${e.key}`);
      expect(allowed).toBe(covers(e, url, 'every'));
    }), { ...RUNS, numRuns: 500 });
  });
});
