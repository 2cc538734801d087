import { afterAll, describe, expect, it } from 'vitest';
import { buildMatcherData } from '../../src/classify/build.js';
import { Matcher } from '../../src/classify/matcher.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { buildFrom, tempDir, writeLists } from '../helpers/lists.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;
const build = (files: Parameters<typeof buildFrom>[1][number]['files'], extra: { sensitive?: boolean } = {}) =>
  buildFrom(`${tmp.dir}/${n++}`, [{ name: 'gambling', files, ...extra }]);

describe('domain list lines', () => {
  it.each([
    ['plain', 'bet.example\n', ['bet.example'], 0],
    ['CRLF line endings', 'a.example\r\nb.example\r\n', ['a.example', 'b.example'], 0],
    ['a BOM', '\ufeffbom.example\n', ['bom.example'], 0],
    ['comments and blank lines', '# comment\n\n   \nc.example # trailing comment\n\t# indented comment\n', ['c.example'], 0],
    ['upper case', 'UPPER.Example\n', ['upper.example'], 0],
    ['no final newline', 'last.example', ['last.example'], 0],
    ['leading and trailing dots', '.lead.example\ntrail.example.\n', ['lead.example', 'trail.example'], 0],
    ['surrounding white space', '   space.example   \n', ['space.example'], 0],
    ['IPv4 entries', '192.0.2.1\n', ['192.0.2.1'], 0],
    ['IPv4 in other notations', '0xc0.0.2.2\n3221225987\n', ['192.0.2.2', '192.0.2.3'], 0],
    ['Unicode (IDN) entries', 'bücher.example\n', ['xn--bcher-kva.example'], 0],
    ['underscores', 'ad_server.example\n', ['ad_server.example'], 0],
    ['single-label entries (a whole TLD)', 'zip\n', ['zip'], 0],
  ])('%s', (_label, text, hosts, skipped) => {
    const { match, data } = build({ domains: text });
    for (const h of hosts) expect(match(`https://${h}/`).map((m) => m.entry), h).toEqual([h]);
    expect(data.stats[0]!.skipped).toBe(skipped);
    expect(data.stats[0]!.domains).toBe(hosts.length);
  });

  it.each([
    ['binary junk', Buffer.from([0x00, 0x01, 0x62, 0x61, 0x64, 0x0a]), 'binary'],
    ['a control character', 'bad\u0007.example\n', 'binary'],
    ['invalid UTF-8', Buffer.from([0x62, 0xff, 0xfe, 0x2e, 0x65, 0x78, 0x0a]), 'binary'],
    ['an overlong name', `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.example\n`, 'too-long'],
    ['an overlong label', `${'a'.repeat(64)}.example\n`, 'label-too-long'],
    ['an empty label', 'a..example\n', 'empty-label'],
    ['a leading wildcard', '*.wild.example\n', 'wildcard'],
    ['an inner wildcard', 'ads*.example\n', 'wildcard'],
    ['a URL in a domains file', 'example.com/path\n', 'url-in-domains'],
    ['a port', 'example.com:8080\n', 'invalid-character'],
    ['invalid characters', 'exa!mple.com\n', 'invalid-character'],
    ['an invalid IPv4', '999.1.1.1\n', 'invalid-ip'],
    ['a numeric last label', 'example.123\n', 'invalid-ip'],
    ['a duplicate in the same list', 'dup.example\nDUP.example\n', 'duplicate'],
  ])('skips %s and says why, with file and line', (_label, text, reason) => {
    const { data } = build({ domains: text });
    const s = data.stats[0]!;
    expect(s.skipped).toBe(1);
    expect(s.reasons).toEqual({ [reason]: 1 });
    expect(s.examples[0]!.reason).toBe(reason);
    expect(s.examples[0]!.file).toMatch(/gambling\/domains$/);
    expect(s.examples[0]!.line).toBe(reason === 'duplicate' ? 2 : 1);
  });

  it('keeps loading after bad lines, and counts each line once', () => {
    const { data, categories } = build({ domains: 'good1.example\n*.bad.example\n\u0000\u0001\ngood2.example\nbad!.example\n' });
    expect(data.stats[0]!.domains).toBe(2);
    expect(data.stats[0]!.skipped).toBe(3);
    expect(categories('https://good2.example/')).toEqual(['gambling']);
  });

  it('withholds the text of skipped lines of a sensitive list', () => {
    const { data } = build({ domains: '*.secret.example\n' }, { sensitive: true });
    expect(data.stats[0]!.examples[0]).toEqual({ file: expect.stringMatching(/domains$/), line: 1, reason: 'wildcard' });
  });
});

describe('URL list lines', () => {
  it.each([
    ['host/path', 'example.com/games', 'https://example.com/games/x', true],
    ['a scheme in the entry', 'http://example.com/games', 'https://example.com/games', true],
    ['www. in the entry', 'www.example.com/games', 'https://example.com/games', true],
    ['upper case', 'EXAMPLE.com/Games', 'https://example.com/games', true],
    ['a query', 'example.com/view.php?id=7', 'https://example.com/view.php?id=7&x=1', true],
    ['a query prefix that is not at a boundary', 'example.com/view.php?id=7', 'https://example.com/view.php?id=77', false],
    ['percent-encoding', 'example.com/%67ames', 'https://example.com/games', true],
    ['a bare host in a urls file', 'example.com', 'https://example.com/anything', true],
  ])('%s', (_label, entry, url, hit) => {
    const { match } = build({ urls: `${entry}\n` });
    expect(match(url).length > 0).toBe(hit);
  });

  it.each([
    ['regex syntax', 'example.com/a\\.b', 'regex-syntax'],
    ['white space inside', 'example.com/a b', 'invalid-character'],
    ['a bad host', 'exa!mple.com/x', 'invalid-character'],
  ])('skips %s', (_label, entry, reason) => {
    const { data } = build({ urls: `${entry}\n` });
    expect(data.stats[0]!.reasons).toEqual({ [reason]: 1 });
  });
});

describe('hosts files', () => {
  it('reads names after the address and drops localhost boilerplate', () => {
    const { data, categories } = build({
      hosts: '127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n0.0.0.0 one.example two.example # two names\n127.0.0.1\tthree.example\nfour.example\n',
    });
    expect(data.stats[0]!.domains).toBe(4);
    for (const h of ['one', 'two', 'three', 'four']) expect(categories(`https://${h}.example/`)).toEqual(['gambling']);
    expect(categories('https://localhost/')).toEqual([]);
  });
});

describe('hashed and expression lists', () => {
  it('rejects lines that are not SHA-256 hex', () => {
    const { data } = build({ sha256: `${'a'.repeat(64)}\nnot-a-hash\n${'b'.repeat(63)}\n` });
    expect(data.stats[0]!.hashes).toBe(1);
    expect(data.stats[0]!.reasons).toEqual({ 'invalid-hash': 2 });
  });

  it('rejects expressions that do not compile', () => {
    const { data, categories } = build({ expressions: '(^|[-/_])(casino|poker)([-/_.]|$)\n(unclosed\n' });
    expect(data.stats[0]!.expressions).toBe(1);
    expect(data.stats[0]!.reasons).toEqual({ 'invalid-regex': 1 });
    expect(categories('https://example.com/play-poker-now')).toEqual(['gambling']);
    expect(categories('https://example.com/pokerface')).toEqual([]);
  });
});

describe('missing and unreadable lists', () => {
  it('reports a missing list file as an error for that list, and the other lists still load', () => {
    const dir = `${tmp.dir}/missing`;
    const specs = writeLists(dir, [{ name: 'games', files: { domains: 'play.example\n' } }]);
    const missing = { ...specs[0]!, name: 'broken', listName: 'broken', category: 'adult', files: [{ kind: 'domains' as const, path: `${dir}/nope/domains` }] };
    const data = buildMatcherData([missing, ...specs]);
    expect(data.stats[0]!.error).toMatch(/cannot read .*nope\/domains: no such file/);
    expect(data.stats[1]!.error).toBeUndefined();
    expect(new Matcher(data).match(normaliseUrl('https://play.example/')).map((m) => m.category)).toEqual(['games']);
  });

  it('does not mind a missing optional file (a squidGuard list without urls)', () => {
    const dir = `${tmp.dir}/optional`;
    const specs = writeLists(dir, [{ name: 'games', files: { domains: 'play.example\n' } }]);
    const withOptional = { ...specs[0]!, files: [...specs[0]!.files, { kind: 'urls' as const, path: `${dir}/games/urls`, optional: true }] };
    expect(buildMatcherData([withOptional]).stats[0]!.error).toBeUndefined();
  });
});
