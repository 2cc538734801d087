import { describe, expect, it } from 'vitest';
import { decodeBody, pageText } from '../../src/classify/page-text.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bytes from ASCII strings and raw byte values, in order. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

function utf16(s: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(2 + s.length * 2);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < s.length; i++) view.setUint16(2 + i * 2, s.charCodeAt(i), littleEndian);
  return out;
}

const E_ACUTE = 0xe9; // é in windows-1252
const CURLY_APOSTROPHE = 0x92; // ’ in windows-1252
const L_STROKE = 0xb3; // ł in ISO-8859-2, ³ in windows-1252

describe('decodeBody: charset', () => {
  it('a UTF-8 byte order mark wins over the header and is not part of the text', () => {
    const d = decodeBody(bytes([0xef, 0xbb, 0xbf], 'caf', [0xc3, 0xa9]), 'text/plain; charset=iso-8859-2');
    expect(d.charset).toBe('utf-8');
    expect(d.text).toBe('café');
  });

  it('a UTF-16LE byte order mark', () => {
    const d = decodeBody(utf16('<p>zażółć at example.test</p>', true));
    expect(d.charset).toBe('utf-16le');
    expect(d.text).toBe('<p>zażółć at example.test</p>');
    expect(pageText(utf16('<p>zażółć</p>', true)).text).toBe('zażółć');
  });

  it('a UTF-16BE byte order mark wins over a meta charset', () => {
    const d = decodeBody(utf16('<meta charset="windows-1252"><p>weather</p>', false));
    expect(d.charset).toBe('utf-16be');
    expect(d.text).toBe('<meta charset="windows-1252"><p>weather</p>');
  });

  it('the Content-Type charset', () => {
    const d = decodeBody(bytes('Pogoda w Bia', [L_STROKE], 'ymstoku'), 'text/plain; charset=ISO-8859-2');
    expect(d.charset).toBe('iso-8859-2');
    expect(d.text).toBe('Pogoda w Białymstoku');
  });

  it('a quoted Content-Type charset among other parameters', () => {
    const d = decodeBody(bytes('caf', [E_ACUTE]), 'text/html; format=flowed; Charset="windows-1252"');
    expect(d.charset).toBe('windows-1252');
    expect(d.text).toBe('café');
  });

  it('the header wins over a meta charset', () => {
    const d = decodeBody(bytes('<meta charset="utf-8"><p>caf', [E_ACUTE], '</p>'), 'text/html; charset=windows-1252');
    expect(d.charset).toBe('windows-1252');
    expect(d.text).toContain('café');
  });

  it('a <meta charset> in the first 1024 bytes', () => {
    const d = decodeBody(bytes('<!doctype html><html><head><META CharSet=iso-8859-2><title>x</title></head><p>mi', [L_STROKE], 'o</p>'));
    expect(d.charset).toBe('iso-8859-2');
    expect(d.text).toContain('<p>miło</p>');
    expect(d.html).toBe(true);
  });

  it('a <meta http-equiv="Content-Type"> in the first 1024 bytes', () => {
    const page = bytes('<html><head><meta http-equiv="content-type" content="text/html; charset=ISO-8859-2"></head><body>mi', [L_STROKE], 'o</body>');
    const d = decodeBody(page, 'text/html');
    expect(d.charset).toBe('iso-8859-2');
    expect(pageText(page, 'text/html').text).toBe('miło');
  });

  it('a content charset without http-equiv Content-Type does not count', () => {
    const d = decodeBody(bytes('<meta name="x" content="charset=iso-8859-2"><p>mi', [L_STROKE], 'o</p>'));
    expect(d.charset).toBe('windows-1252');
  });

  it('a meta charset inside a comment does not count, the next one does', () => {
    const d = decodeBody(bytes('<!-- <meta charset="utf-16"> --><meta charset="iso-8859-2"><p>', [L_STROKE], '</p>'));
    expect(d.charset).toBe('iso-8859-2');
  });

  it('a meta charset after the first 1024 bytes does not count', () => {
    const d = decodeBody(bytes('<p>', ' '.repeat(1100), '<meta charset="iso-8859-2"><p>caf', [E_ACUTE], '</p>'));
    expect(d.charset).toBe('windows-1252');
    expect(d.text).toContain('café');
  });

  it('UTF-16 named by a meta means UTF-8, as the prescan says', () => {
    const d = decodeBody(utf8('<meta charset="utf-16le"><p>zażółć</p>'));
    expect(d.charset).toBe('utf-8');
    expect(d.text).toContain('zażółć');
  });

  it('WHATWG labels: iso-8859-1, latin1, ascii and us-ascii are windows-1252, utf8 is UTF-8', () => {
    const body = bytes('it', [CURLY_APOSTROPHE], 's caf', [E_ACUTE]);
    for (const label of ['iso-8859-1', 'ISO-8859-1', 'latin1', 'ascii', 'us-ascii']) {
      const d = decodeBody(body, `text/plain; charset=${label}`);
      expect(d.charset, label).toBe('windows-1252');
      expect(d.text, label).toBe('it\u2019s café');
    }
    expect(decodeBody(utf8('café'), 'text/plain; charset=utf8')).toMatchObject({ charset: 'utf-8', text: 'café' });
  });

  it('an unknown label in the header is ignored and the meta is used', () => {
    const d = decodeBody(bytes('<meta charset="iso-8859-2"><p>', [L_STROKE], '</p>'), 'text/html; charset=no-such-charset');
    expect(d.charset).toBe('iso-8859-2');
  });

  it('an unknown label in a meta is ignored and the bytes are sniffed', () => {
    expect(decodeBody(utf8('<meta charset="no-such-charset"><p>zażółć</p>')).charset).toBe('utf-8');
    expect(decodeBody(bytes('<meta charset="no-such-charset"><p>caf', [E_ACUTE], '</p>')).charset).toBe('windows-1252');
  });

  it('unlabelled valid UTF-8 is UTF-8', () => {
    const d = decodeBody(utf8('Pogoda w Białymstoku: zażółć gęślą jaźń'));
    expect(d.charset).toBe('utf-8');
    expect(d.text).toBe('Pogoda w Białymstoku: zażółć gęślą jaźń');
  });

  it('unlabelled UTF-8 cut off in the middle of a character is still UTF-8', () => {
    const whole = utf8('zażółć €');
    const cut = whole.subarray(0, whole.length - 1); // the euro sign is 3 bytes
    const d = decodeBody(cut);
    expect(d.charset).toBe('utf-8');
    expect(d.text).toBe('zażółć ');
  });

  it('unlabelled bytes that are not UTF-8 fall back to windows-1252', () => {
    const d = decodeBody(bytes('the weather at example.test isn', [CURLY_APOSTROPHE], 't bad, caf', [E_ACUTE], ' open'));
    expect(d.charset).toBe('windows-1252');
    expect(d.text).toBe('the weather at example.test isn\u2019t bad, café open');
  });

  it('unlabelled ASCII that ends in one high byte is windows-1252, not UTF-8 cut short', () => {
    expect(decodeBody(bytes('the weather at example.test: caf', [E_ACUTE]))).toMatchObject({ charset: 'windows-1252', text: 'the weather at example.test: café' });
  });

  it('windows-1252 bytes 0x80-0x9F are the characters windows-1252 gives them, not C1 controls', () => {
    const d = decodeBody(bytes([0x80, 0x81, 0x85, 0x8a, 0x91, 0x92, 0x93, 0x94, 0x96, 0x97, 0x99, 0x9d, 0x9f]), 'text/plain; charset=windows-1252');
    expect(d.text).toBe('\u20ac\u0081\u2026\u0160\u2018\u2019\u201c\u201d\u2013\u2014\u2122\u009d\u0178');
  });

  it('a meta in a text/plain body is not read', () => {
    const d = decodeBody(bytes('<meta charset="iso-8859-2"> caf', [E_ACUTE]), 'text/plain');
    expect(d.charset).toBe('windows-1252');
    expect(d.html).toBe(false);
  });

  it('an empty body', () => {
    expect(decodeBody(new Uint8Array(0))).toEqual({ text: '', charset: 'utf-8', html: false });
  });
});

describe('decodeBody: HTML or text', () => {
  const cases: [string, string, string | undefined, boolean][] = [
    ['text/plain is text whatever it holds', '<html><p>x</p></html>', 'text/plain; charset=utf-8', false],
    ['text/html is HTML whatever it holds', 'just words', 'text/html', true],
    ['XHTML is HTML', '<?xml version="1.0"?><html/>', 'application/xhtml+xml', true],
    ['doctype after whitespace', '  \n<!DOCTYPE html><title>t</title>', undefined, true],
    ['<html>', '<html lang="en">', undefined, true],
    ['a comment first', '<!-- built at example.test -->\n<div>x</div>', undefined, true],
    ['a bare fragment', '<p>the weather</p>', undefined, true],
    ['a meta first', '<meta charset="utf-8"><title>t</title>', undefined, true],
    ['a tag a little way in', 'Some preamble then <span class="x">y</span>', 'application/octet-stream', true],
    ['plain words', 'the weather at example.test is fine', undefined, false],
    ['a comparison is not a tag', 'if a < b and c<d then', undefined, false],
    ['a tag after the first 1024 characters is not looked for', `${'word '.repeat(300)}<p>late</p>`, undefined, false],
  ];
  it.each(cases)('%s', (_why, body, type, html) => {
    expect(decodeBody(utf8(body), type).html).toBe(html);
  });
});

describe('pageText', () => {
  const page = (html: string, type = 'text/html; charset=utf-8') => pageText(utf8(html), type);

  it('takes the title out of the text', () => {
    const r = page('<html><head><title>  The  weather\n at example.test </title></head><body><p>Sunny</p></body></html>');
    expect(r.title).toBe('The weather at example.test');
    expect(r.text).toBe('Sunny');
    expect(r.charset).toBe('utf-8');
  });

  it('takes only the first title; later ones are not shown and not read', () => {
    const r = page('<title>First</title><p>body</p><title>Second</title><svg><title>icon</title></svg>');
    expect(r.title).toBe('First');
    expect(r.text).toBe('body');
  });

  it('skips script, style, noscript, template, svg and iframe content', () => {
    const r = page(
      '<head><script>var hidden = "script words";</script><style>p::after { content: "style words" }</style></head>'
      + '<body><p>one</p><noscript>noscript words<img src="t.gif" alt="noscript alt"></noscript><template><p>template words</p></template>'
      + '<svg viewBox="0 0 1 1"><text>svg words</text><style>x{}</style></svg><iframe>iframe words</iframe><p>two</p>'
      + '<script type="application/ld+json">{"a":"<p>json words</p>"}</script><p>three</p></body>',
    );
    expect(r.text).toBe('one\ntwo\nthree');
  });

  it('a script left open hides the rest, as in a browser', () => {
    expect(page('<p>before</p><script>if (a<b) { x = "</p>" }').text).toBe('before');
  });

  it('includes the meta description and image alt text', () => {
    const r = page(
      '<head><meta name="Description" content="Forecasts &amp; maps for example.test"><meta name="keywords" content="not this">'
      + '<meta property="og:title" content="nor this"></head><body><p>See<img src="a.png" ALT="a sunny sky"><img src="b.png">below</p>'
      + '<img alt="first" alt="second"></body>',
    );
    expect(r.text).toBe('Forecasts & maps for example.test\nSee\na sunny sky\nbelow\nfirst');
  });

  it('keeps the words of adjacent blocks apart, one newline where blocks meet', () => {
    const r = page('<div>the end</div><div>it</div><p>end</p><p>it</p><h1>head</h1><h2>ing</h2><ul><li>one</li><li>two</li></ul>'
      + 'line<br>break<br/>again<table><tr><td>cell</td><td>next</td></tr><tr><th>row</th></tr></table><section>a</section><article>b</article>');
    expect(r.text).toBe('the end\nit\nend\nit\nhead\ning\none\ntwo\nline\nbreak\nagain\ncell\nnext\nrow\na\nb');
  });

  it('a line break in the source is a space; nested and empty blocks make one newline', () => {
    const r = page('<article>\n  <div><p>first\npost</p></div>\n\n<div></div><div> <p>second &#x2029;part</p></div></article>');
    expect(r.text).toBe('first post\nsecond\npart');
  });

  it('keeps inline elements joined, as a reader sees them', () => {
    expect(page('<p>sch<b>oo</b><i>l</i> <a href="/x">lesson</a>s</p>').text).toBe('school lessons');
  });

  it('decodes entities', () => {
    const r = page('<p>Tom &amp; Jerry&#8217;s&nbsp;house &lt;tag&gt; &eacute;t&#xE9; &copy 2024 &#107;ill</p>');
    expect(r.text).toBe('Tom & Jerry\u2019s house <tag> été © 2024 kill');
  });

  it('collapses whitespace and drops characters that render as nothing', () => {
    const r = page('<p>  the \t weather\n\n\r\n at\u00a0\u00a0example.test  </p>\n\n<p>ki&shy;ll wo\u200brd</p>');
    expect(r.text).toBe('the weather at example.test\nkill word');
  });

  it('passes plain text through, tags and entities as written, a blank line a boundary and a line break a space', () => {
    const r = pageText(utf8('  The weather\n \r\nat <b>example.test</b>\n&amp; more  \n\n'), 'text/plain');
    expect(r).toEqual({ title: '', text: 'The weather\nat <b>example.test</b> &amp; more', charset: 'utf-8' });
  });

  it('reads an unlabelled windows-1252 page', () => {
    const r = pageText(bytes('<html><body><p>It', [CURLY_APOSTROPHE], 's a caf', [E_ACUTE], ' at example.test</p></body></html>'));
    expect(r).toEqual({ title: '', text: 'It\u2019s a café at example.test', charset: 'windows-1252' });
  });

  it('reads a Polish ISO-8859-2 page', () => {
    // "Mi" ł "a szko" ł "a" in ISO-8859-2
    const r = pageText(bytes('<meta charset="iso-8859-2"><title>Szko', [L_STROKE], 'a</title><p>Mi', [L_STROKE], 'a szko', [L_STROKE], 'a</p>'));
    expect(r).toEqual({ title: 'Szkoła', text: 'Miła szkoła', charset: 'iso-8859-2' });
  });

  it('does not hide the body of a page whose head is never closed', () => {
    const r = page('<html><head><title>T</title><meta charset="utf-8">Text in the head<p>and a paragraph');
    expect(r.title).toBe('T');
    expect(r.text).toBe('Text in the head\nand a paragraph');
  });

  it('keeps the text of a malformed page', () => {
    const r = page('<div><p>unclosed <b>bold <i>italic</div> a < b and c <d e</p></span></table>3 <> 4 </ p> end <');
    expect(r.text).toContain('unclosed bold italic');
    expect(r.text).toContain('a < b and c');
    expect(r.text).toContain('end');
  });

  it('does not throw on junk', () => {
    for (const junk of ['<', '<<<>>>', '</', '<!--', '<!doctype', '<a href="x', '<img alt="unterminated', '&#xFFFFFFFF;&#0;', '<![CDATA[x]]>', '\u0000\u0001']) {
      expect(() => page(junk), junk).not.toThrow();
    }
    expect(page('<a href="x">link</a><img alt="cut').text).toBe('link');
  });

  it('an empty body', () => {
    expect(pageText(new Uint8Array(0))).toEqual({ title: '', text: '', charset: 'utf-8' });
    expect(pageText(new Uint8Array(0), 'text/html')).toEqual({ title: '', text: '', charset: 'utf-8' });
  });
});
