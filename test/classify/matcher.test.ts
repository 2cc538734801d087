import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DomainTable, DomainTableBuilder } from '../../src/classify/domain-table.js';
import { WITHHELD, winningMatch } from '../../src/classify/matcher.js';
import { buildFrom, tempDir } from '../helpers/lists.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

const school = buildFrom(`${tmp.dir}/school`, [
  { name: 'video', category: 'video-streaming', files: { domains: 'bbc.co.uk\nvideo.example\n', urls: 'tube.example/watch\n' } },
  { name: 'school-allow', category: 'education', role: 'allow', files: { urls: 'bbc.co.uk/bitesize\n', domains: 'learn.video.example\n' } },
  { name: 'school-block', category: 'school-blocked', role: 'block', files: { urls: 'bbc.co.uk/bitesize/games\n' } },
  { name: 'adult', files: { domains: 'adult.example\n192.0.2.7\nxn--bcher-kva.example\n', urls: 'blog.example/nsfw/\n' } },
  { name: 'blogs', files: { domains: 'blog.example\n' } },
  { name: 'games', files: { domains: 'games.example\nbücher.example\n' } },
]);

describe('domain entries', () => {
  it.each([
    ['https://adult.example/', ['adult']],
    ['https://www.adult.example/x', ['adult']],
    ['https://a.b.c.adult.example/', ['adult']],
    ['https://notadult.example/', []],
    ['https://adult.example.evil.test/', []],
    ['https://example/', []],
    ['https://192.0.2.7/', ['adult']],
    ['http://3221225991/', ['adult']],
    ['https://192.0.2.77/', []],
    ['https://1.192.0.2.7.example/', []],
    ['https://bücher.example/', ['adult', 'games']],
    ['https://xn--bcher-kva.example/', ['adult', 'games']],
    ['https://ADULT.EXAMPLE./', ['adult']],
    ['http://good.test@adult.example/', ['adult']],
    ['http://%61dult.example/', ['adult']],
  ])('%s', (url, categories) => {
    expect(school.categories(url)).toEqual(categories);
  });

  it('returns every category, each with the entry, list and line that matched', () => {
    const m = school.match('https://www.blog.example/nsfw/pics');
    expect(m.map((x) => [x.category, x.kind, x.entry, x.list, x.line])).toEqual([
      ['adult', 'url', 'blog.example/nsfw', 'adult', 1],
      ['blogs', 'domain', 'blog.example', 'blogs', 1],
    ]);
  });
});

describe('URL entries match at path-segment boundaries', () => {
  it.each([
    ['https://tube.example/watch', true],
    ['https://tube.example/watch/', true],
    ['https://tube.example/watch?v=1', true],
    ['https://tube.example/watch/abc', true],
    ['https://tube.example/watchlater', false],
    ['https://tube.example/', false],
    ['https://www.tube.example/watch', true],
    ['https://web.tube.example/watch', true],
    ['https://ftp2.tube.example/watch', true],
    ['https://sub.tube.example/watch', false],
    ['https://tube.example/WATCH', true],
    ['https://tube.example/%77atch', true],
    ['https://tube.example//watch', true],
    ['https://tube.example/x/../watch', true],
    ['https://tube.example/watch#frag', true],
  ])('%s', (url, hit) => {
    expect(school.categories(url).includes('video-streaming')).toBe(hit);
  });
});

describe('the most specific entry wins', () => {
  it.each([
    // bbc.co.uk is video streaming, but the school allows Bitesize...
    ['https://www.bbc.co.uk/iplayer', 'video-streaming', 'category'],
    ['https://www.bbc.co.uk/bitesize', 'education', 'allow'],
    ['https://www.bbc.co.uk/bitesize/topics/maths', 'education', 'allow'],
    // ...and blocks one folder inside it.
    ['https://www.bbc.co.uk/bitesize/games/space', 'school-blocked', 'block'],
    // a school allow entry for a subdomain beats the category entry for its parent
    ['https://learn.video.example/', 'education', 'allow'],
    ['https://video.example/', 'video-streaming', 'category'],
  ])('%s -> %s', (url, category, role) => {
    const win = winningMatch(school.match(url))!;
    expect([win.category, win.role]).toEqual([category, role]);
  });

  it('breaks a tie of equal specificity in favour of the school, block before allow', () => {
    const t = buildFrom(`${tmp.dir}/tie`, [
      { name: 'social', category: 'social-networking', files: { domains: 'tie.example\n' } },
      { name: 'allow', category: 'education', role: 'allow', files: { domains: 'tie.example\n' } },
      { name: 'block', category: 'school-blocked', role: 'block', files: { domains: 'tie.example\n' } },
    ]);
    expect(t.match('https://tie.example/').map((m) => m.role)).toEqual(['block', 'allow', 'category']);
  });
});

describe('IWF-style URL lists match pages, never their whole domain', () => {
  const iwf = buildFrom(`${tmp.dir}/iwf`, [
    { name: 'iwf', sensitive: true, files: { iwf: 'host0.iwf-synthetic.test/i/abc123.jpg\nwww.example.org/gallery/4fc2\nwhole-site.invalid\nhttp://files.example.test/view.php?id=85\n' } },
  ]);
  it.each([
    ['https://host0.iwf-synthetic.test/i/abc123.jpg', true],
    ['https://HOST0.iwf-synthetic.test./i/abc123.jpg?size=big', true],
    ['https://host0.iwf-synthetic.test/i/', false],
    ['https://host0.iwf-synthetic.test/', false],
    ['https://host0.iwf-synthetic.test/i/abc123.jpgx', false],
    ['https://www.example.org/gallery/4fc2', true],
    ['https://example.org/gallery/4fc2/', true],
    ['https://www.example.org/gallery', false],
    ['https://www.example.org/', false],
    ['https://whole-site.invalid/anything', true],
    ['https://sub.whole-site.invalid/', true],
    ['https://files.example.test/view.php?id=85', true],
    ['https://files.example.test/view.php?id=85&p=2', true],
    ['https://files.example.test/view.php?id=851', false],
    ['https://files.example.test/view.php', false],
  ])('%s', (url, hit) => {
    expect(iwf.categories(url)).toEqual(hit ? ['iwf'] : []);
  });

  it('withholds the entry in explanations', () => {
    expect(iwf.match('https://www.example.org/gallery/4fc2')[0]!.entry).toBe(WITHHELD);
  });
});

describe('hashed URL lists', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const hashed = buildFrom(`${tmp.dir}/hashed`, [
    { name: 'iwf', sensitive: true, files: { sha256: `${sha('img.example.net/view.php?id=4edd')}\n${sha('cdn.example.com/9a81602a')}\n${sha('www.example.com/i/7ddd')}\n${sha('whole.example.test')}\n` } },
  ]);
  it.each([
    ['https://img.example.net/view.php?id=4edd', true],
    ['https://img.example.net/view.php?id=4ed', false],
    ['https://cdn.example.com/9a81602a', true],
    ['https://cdn.example.com/9a81602a/thumb.jpg', true],
    ['https://cdn.example.com/9a81602', false],
    // The entry is www.example.com/i/7ddd: without www. it is the same site, and still matches.
    ['https://example.com/i/7ddd', true],
    ['https://EXAMPLE.com/i/7ddd/', true],
    ['https://www.example.com/i/7ddd', true],
    ['https://whole.example.test/', true],
    ['https://www.whole.example.test/x', true],
    ['https://img.example.net/view.php?id=4edd&size=big', true],
    ['https://img.example.net/view.php?id=%34edd', true],
    ['https://img.example.net/view.php?size=big&id=4edd', false],
  ])('%s', (url, hit) => {
    expect(hashed.categories(url)).toEqual(hit ? ['iwf'] : []);
  });

  it('matches folders at any depth, with or without the trailing slash', () => {
    const deep = 'deep.example.test/a/b/c/d/e/f/g/h/i/j';
    const t = buildFrom(`${tmp.dir}/deep`, [{ name: 'iwf', sensitive: true, files: { sha256: `${sha(deep)}\n${sha('slash.example.test/f/')}\n` } }]);
    expect(t.categories(`https://${deep}/x.jpg`)).toEqual(['iwf']);
    expect(t.categories('https://slash.example.test/f/x.jpg')).toEqual(['iwf']);
    expect(t.categories('https://slash.example.test/fx')).toEqual([]);
  });
});

describe('expression lists compile with RE2', () => {
  const expressions = ['(^|[-/_.])(casino|poker)([-/_.]|$)', '(x+x+)+y', '(?:a|a)*b', 'a(?=b)', '|', '.*', `${'a'.repeat(1100)}`, 'ok\u0007bad'].join('\n');
  const t = buildFrom(`${tmp.dir}/expr`, [{ name: 'gambling', files: { expressions } }]);

  it('skips what would match everything, what RE2 cannot run, what is too long, and binary lines', () => {
    expect(t.data.stats[0]!.reasons).toEqual({ 'invalid-regex': 1, 'matches-everything': 2, 'expression-too-long': 1, binary: 1 });
    expect(t.data.stats[0]!.expressions).toBe(3);
  });

  it('matches, and patterns that backtrack badly elsewhere finish at once', () => {
    expect(t.categories('https://example.com/play-poker-now')).toEqual(['gambling']);
    expect(t.categories(`https://${'x'.repeat(40)}.example/`)).toEqual([]);
    expect(t.categories(`https://example.com/${'a'.repeat(5000)}`)).toEqual([]);
    expect(t.categories('https://example.com/aab')).toEqual(['gambling']);
  });
});

describe('IWF-style page entries never widen to the site', () => {
  const t = buildFrom(`${tmp.dir}/iwf-pages`, [{ name: 'iwf', sensitive: true, files: { iwf: 'big.example.test/#!/album/123\nbig2.example.test/?\nbig3.example.test/\nported.example.test:8080\n' } }]);
  it.each([
    ['https://big.example.test/', true],
    ['https://big.example.test/?x=1', true],
    ['https://big.example.test/anything', false],
    ['https://big2.example.test/', true],
    ['https://big2.example.test/other', false],
    ['https://big3.example.test/', true],
    ['https://big3.example.test/page', false],
    ['https://ported.example.test/any', true],
  ])('%s', (url, hit) => {
    expect(t.categories(url)).toEqual(hit ? ['iwf'] : []);
  });
});

describe('the domain table', () => {
  it('finds every stored name and no other, across growth and rehashing', () => {
    const b = new DomainTableBuilder();
    const names: string[] = [];
    for (let i = 0; i < 30_000; i++) names.push(`n${i.toString(36)}.example${i % 13}.test`);
    names.forEach((n, i) => expect(b.add(n, i % 3, i + 1)).toBe(true));
    expect(b.add(names[5]!, 5 % 3, 99)).toBe(false);
    const t = new DomainTable(b.finish());
    expect(t.size).toBe(names.length);
    for (const n of names) expect(t.has(n)).toBe(true);
    for (let i = 0; i < 30_000; i++) expect(t.has(`m${i.toString(36)}.example${i % 13}.test`)).toBe(false);
    expect(t.has(`x.${names[7]}`)).toBe(true);
  });

  it('keeps every list and line of a name listed in several lists', () => {
    const b = new DomainTableBuilder();
    b.add('shared.example', 0, 10);
    b.add('other.example', 0, 11);
    b.add('shared.example', 3, 20);
    const t = new DomainTable(b.finish());
    const seen: [number, number][] = [];
    t.lookup('www.shared.example', false, (rec) => {
      const first = t.firstPosting(rec);
      for (let i = 0; i < t.postingCount(rec); i++) seen.push([t.listAt(first + 6 * i), t.lineAt(first + 6 * i)]);
    });
    expect(seen).toEqual([[0, 10], [3, 20]]);
  });
});

describe('hosts with many URL entries (indexed by first path segment)', () => {
  const entries = Array.from({ length: 40 }, (_, i) => `docs.example.com/forms/d/e/${i}`);
  const many = buildFrom(`${tmp.dir}/many`, [
    { name: 'phishing', category: 'malware', files: { urls: [...entries, 'docs.example.com/?cat=7', 'docs.example.com/spreadsheets;s', 'docs.example.com'].join('\n') } },
    { name: 'other', category: 'games', files: { urls: 'www.docs.example.com/play\n' } },
  ]);
  it.each([
    // [url, URL entries matched (the whole-host entry matches every path)]
    ['https://docs.example.com/forms/d/e/17/viewform', ['docs.example.com/forms/d/e/17', 'docs.example.com']],
    ['https://docs.example.com/forms/d/e/170', ['docs.example.com']],
    ['https://docs.example.com/?cat=7', ['docs.example.com/?cat=7', 'docs.example.com']],
    ['https://docs.example.com/?cat=7/source', ['docs.example.com/?cat=7', 'docs.example.com']],
    ['https://docs.example.com/spreadsheets;s/1', ['docs.example.com/spreadsheets;s', 'docs.example.com']],
    ['https://www.docs.example.com/play/now', ['docs.example.com/play', 'docs.example.com']],
  ])('%s', (url, want) => {
    expect(many.match(url).filter((x) => x.kind === 'url').map((x) => x.entry)).toEqual(want);
  });
});

describe('URL entries match every spelling a common server reads as the listed path', () => {
  // issue 12, finding 6: with host/secret listed, each of these reaches /secret (or below it) on
  // some server: one that decodes %2F or %5C, Tomcat or Spring (";" parameters, "..;"), one that
  // trims white space or trailing dots, one that decodes twice, one that stops at a NUL.
  const many = Array.from({ length: 12 }, (_, i) => `spell.example.test/other${i}`).join('\n');
  const t = buildFrom(`${tmp.dir}/spellings`, [
    { name: 'adult', files: { urls: `spell.example.test/secret\nmany.example.test/secret\n${many.replaceAll('spell.', 'many.')}\nslash.example.test/a%2Fb\n` } },
    { name: 'school-allow', category: 'education', role: 'allow', files: { urls: 'learn.example.test/maths\n' } },
    { name: 'games', files: { domains: 'learn.example.test\n' } },
  ]);
  it.each([
    // the spellings quoted in the finding
    ['https://spell.example.test/a/..%2fsecret', true],
    ['https://spell.example.test/a%2f..%2fsecret', true],
    ['https://spell.example.test/secret%2fx', true],
    ['https://spell.example.test/a/..;/secret', true],
    ['https://spell.example.test/secret%20', true],
    ['https://spell.example.test/secret%09', true],
    // and their relatives
    ['https://spell.example.test/a/..%2Fsecret', true],
    ['https://spell.example.test/a/..%5csecret', true],
    ['https://spell.example.test/secret%5Cx', true],
    ['https://spell.example.test/a/%2e%2e%2fsecret', true],
    ['https://spell.example.test/a/%252e%252e%252fsecret', true],
    ['https://spell.example.test/secret%252fx', true],
    ['https://spell.example.test/secret%25252Fx', true],
    ['https://spell.example.test/a/..;jsessionid=0/secret', true],
    ['https://spell.example.test/a;x=1/..;/secret;y=2', true],
    ['https://spell.example.test/a/.;/..;/secret', true],
    ['https://spell.example.test/secret;jsessionid=0', true],
    ['https://spell.example.test/secret%20/x', true],
    ['https://spell.example.test/%20secret', true],
    ['https://spell.example.test/secret%0d%0a', true],
    ['https://spell.example.test/secret%2520', true],
    ['https://spell.example.test/secret.', true],
    ['https://spell.example.test/secret.%20./x', true],
    ['https://spell.example.test/secret%00.jpg', true],
    ['https://spell.example.test/a/..%20/secret', true],
    ['https://spell.example.test/%2fsecret', true],
    ['https://spell.example.test/%2F%2Fsecret%2F%2F', true],
    ['https://spell.example.test/SECRET%2F', true],
    // a server that does not decode %2F serves this from inside /secret: blocked on either reading
    ['https://spell.example.test/secret/..%2fpublic', true],
    // a host with many entries is indexed by first segment: a reading can start with another one
    ['https://many.example.test/a%2F..%2Fsecret', true],
    ['https://many.example.test/x/..;/secret', true],
    ['https://many.example.test/secret%20', true],
    ['https://many.example.test/other3%2f..%2fsecret', true],
    // an entry written with %2F covers the path a decoding server reads it as, and itself
    ['https://slash.example.test/a%2fb', true],
    ['https://slash.example.test/a/b', true],
    ['https://slash.example.test/a/b/c', true],
    // never a path that only shares a prefix, or that a server would read as another path
    ['https://spell.example.test/secretary', false],
    ['https://spell.example.test/secret%2dx', false],
    ['https://spell.example.test/secret%3Fx', false],
    ['https://spell.example.test/sec%2fret', false],
    ['https://spell.example.test/a/secret', false],
    ['https://spell.example.test/secrets.', false],
    ['https://many.example.test/secretary%20', false],
    ['https://slash.example.test/a', false],
  ])('%s', (url, hit) => {
    expect(t.categories(url).includes('adult')).toBe(hit);
  });

  it.each([
    // An allow entry covers a request only if it covers every reading: a spelling that some
    // server reads as a path outside the allowed folder is not allowed (the site's category decides).
    ['https://learn.example.test/maths', 'education'],
    ['https://learn.example.test/maths/fractions', 'education'],
    ['https://learn.example.test/maths;jsessionid=1/fractions', 'education'],
    ['https://learn.example.test/maths/a%20b', 'education'],
    ['https://learn.example.test/maths/a%2Fb', 'education'],
    ['https://learn.example.test/maths/..%2fplay', 'games'],
    ['https://learn.example.test/maths/..;/play', 'games'],
    ['https://learn.example.test/maths/..%252f..%252fplay', 'games'],
    ['https://learn.example.test/play%2f..%2fmaths', 'games'],
    ['https://learn.example.test/play/..;/maths', 'games'],
    ['https://learn.example.test/maths%20', 'games'],
  ])('%s: the winning entry is %s', (url, category) => {
    expect(winningMatch(t.match(url))!.category).toBe(category);
  });

  it('keeps the URL as written for the log: only matching reads it', () => {
    const m = t.match('https://spell.example.test/a/..%2fsecret');
    expect(m.map((x) => [x.kind, x.entry])).toEqual([['url', 'spell.example.test/secret']]);
  });

  it('hashes and tests expressions against the readings too', () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const h = buildFrom(`${tmp.dir}/spellings-hashed`, [
      { name: 'iwf', sensitive: true, files: { sha256: `${sha('hashed.example.test/i/7ddd')}\n` } },
      { name: 'gambling', files: { expressions: '^[^/]*/casino(/|$)\n' } },
    ]);
    expect(h.categories('https://hashed.example.test/x/..%2fi/7ddd')).toEqual(['iwf']);
    expect(h.categories('https://hashed.example.test/i/7ddd%20')).toEqual(['iwf']);
    expect(h.categories('https://hashed.example.test/i/7dd')).toEqual([]);
    expect(h.categories('https://expr.example.test/x/..;/casino')).toEqual(['gambling']);
    expect(h.categories('https://expr.example.test/casino%2fslots')).toEqual(['gambling']);
    expect(h.categories('https://expr.example.test/casinos')).toEqual([]);
  });
});
