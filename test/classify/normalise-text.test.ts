import { describe, expect, it } from 'vitest';
import { decodeQueryValue, foldText } from '../../src/classify/normalise-text.js';

describe('foldText', () => {
  const cases: [string, string, string][] = [
    // [why, input, folded]
    ['empty', '', ''],
    ['only separators', ' -_/+!?. ', ''],
    ['already folded', 'how to stay safe online', 'how to stay safe online'],
    ['upper case', 'HOW To Stay SAFE', 'how to stay safe'],
    ['runs of whitespace', '  how \t to\n\nstay   safe  ', 'how to stay safe'],
    ['punctuation between words', 'how-to_stay+safe/online?', 'how to stay safe online'],
    ['URL path', '/news/articles/how-to-stay-safe-online', 'news articles how to stay safe online'],
    ['dots and commas', 'e.g., this; that: other', 'e g this that other'],
    ['brackets and quotes', '"quoted" (bracketed) [square]', 'quoted bracketed square'],
    // leetspeak, only in tokens that mix letters with leet characters
    ['leet digit inside a word', 'k1ll myself', 'kill myself'],
    ['leet digits throughout', 'h0w t0 k1ll mys3lf', 'how to kill myself'],
    ['dollar as s', '$uicide', 'suicide'],
    ['at as a', 'bl@ck m@gic', 'black magic'],
    ['every leet character', 'x0x1x3x4x5x7x@x$', 'xoxixexaxsxtxaxs'],
    ['leet 4 and 5', 'p4ss', 'pass'],
    ['leet 7', '7ruth', 'truth'],
    ['upper case with leet', 'K1LL', 'kill'],
    ['non-leet digits kept in mixed token', 'b2b8 9a', 'b2b8 9a'],
    ['mixed token keeps its non-leet digits', 'c0vid19', 'covidi9'],
    ['number alone stays', 'year 7', 'year 7'],
    ['year stays', '2024', '2024'],
    ['leet digits alone stay', '1337 0', '1337 0'],
    ['phone number stays', '0800 1111', '0800 1111'],
    ['dollar in a number separates', '$5', '5'],
    ['at between numbers separates', '10@20', '10 20'],
    ['lone symbols vanish', '$ @ $$ @@', ''],
    ['symbols and digits only', '$$$ 42', '42'],
    ['email address: @ is a leet a inside the token', 'bob@school.uk', 'bobaschool uk'],
    // apostrophes
    ['apostrophe inside a word is dropped', "don't", 'dont'],
    ['contraction', "I'm being bullied", 'im being bullied'],
    ['apostrophe with upper case', "DON'T", 'dont'],
    ['apostrophe at word edges separates', "'quoted' pupils'", 'quoted pupils'],
    ['apostrophe after a digit separates', "7's", '7 s'],
    ['doubled apostrophe separates', "don''t", 'don t'],
    ['typographic apostrophe', 'don\u2019t', 'dont'],
    ['left single quote', '\u2018hello\u2019', 'hello'],
    ['modifier letter apostrophe', 'don\u02bct', 'dont'],
    // Unicode: NFKC, case folding, diacritics
    ['Polish', 'Jak się ZABIĆ', 'jak sie zabic'],
    ['Polish ł and ó', 'Łódź', 'lodz'],
    ['Polish all diacritics', 'ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ', 'acelnoszz acelnoszz'],
    ['French', 'Œuvre à côté', 'oeuvre a cote'],
    ['German sharp s', 'Straße', 'strasse'],
    ['capital sharp s', 'STRAẞE', 'strasse'],
    ['Scandinavian', 'Ørsted Æsir', 'orsted aesir'],
    ['Icelandic', 'Þór Aðalsteinn', 'thor adalsteinn'],
    ['Croatian', 'Đakovo', 'dakovo'],
    ['Turkish dotless i', 'kırmızı', 'kirmizi'],
    ['Turkish dotted capital I', 'İstanbul', 'istanbul'],
    ['Maltese h-bar', 'Ħamrun', 'hamrun'],
    ['Spanish', 'Niño ¿qué?', 'nino que'],
    ['Vietnamese stacked marks', 'Tiếng Việt', 'tieng viet'],
    ['combining marks already decomposed', 'cafe\u0301', 'cafe'],
    ['fullwidth letters', 'ＫＩＬＬ　ｍｙｓｅｌｆ', 'kill myself'],
    ['fullwidth digits', '２０２４', '2024'],
    ['ligature', 'ﬁnd ﬂower', 'find flower'],
    ['superscript digit', 'x²', 'x2'],
    ['circled letters', 'ⓚⓘⓛⓛ', 'kill'],
    ['mathematical bold', '𝐤𝐢𝐥𝐥', 'kill'],
    ['non-breaking space', 'self\u00a0harm', 'self harm'],
    ['zero-width space separates', 'self\u200bharm', 'self harm'],
    ['em dash', 'self—harm', 'self harm'],
    ['emoji separates', 'sad😢face', 'sad face'],
    ['Greek final sigma', 'ΣΟΦΟΣ σοφός', 'σοφοσ σοφοσ'],
    ['Cyrillic', 'Привет, мир!', 'привет мир'],
    ['Arabic-script Urdu keeps letters', 'خودکشی کیسے', 'خودکشی کیسے'],
    ['Urdu diacritics (harakat) removed', 'خُودکُشی', 'خودکشی'],
    ['Chinese', '你好 世界', '你好 世界'],
    ['Korean recomposed after stripping', '한국어', '한국어'],
    ['non-ASCII with leet', 'zabić s1ę', 'zabic sie'],
    ['non-ASCII letters with leet', 'мир0', 'мирo'],
    ['non-ASCII digits alone stay', '٢٠٢٤', '٢٠٢٤'],
    ['non-ASCII dollar separates', '€$5 ж', '5 ж'],
    ['apostrophe between non-ASCII letters', 'ż\u2019a', 'za'],
    // times of day: one token, never two numbers (a chat log's "[20:22]" is no age)
    ['time in brackets', '[20:22] he is', '20h22 he is'],
    ['time with pm', '3:15pm', '3h15pm'],
    ['time with upper-case AM', 'at 9:05AM', 'at 9h05am'],
    ['time with seconds', '20:22:05', '20h22h05'],
    ['time written with h is not leetspeak', '20h15', '20h15'],
    ['time with upper-case H', '20H15', '20h15'],
    ['time then an apostrophe', "3:15's", '3h15 s'],
    ['not a time: minutes past 59', '14:88', '14 88'],
    ['not a time: three-digit hour', '120:22', '120 22'],
    ['not a time: one-digit minutes', '1:2', '1 2'],
    ['not a time: letters after it', '20:22x', '20 22x'],
    ['not a time: letters before it', 'x20:22', 'x2o 22'],
    ['not a time: pm joined to more letters', "3:15pm's", '3 ispms'],
    ['ratio', '16:9', '16 9'],
    ['fullwidth time', '２０：２２', '20h22'],
    ['time next to non-ASCII', '[20:22] żółw', '20h22 zolw'],
    // however a time is written, one token: am/pm on or after a space, minutes after '.' or a space
    ['time, space, pm', '3:15 pm', '3h15pm'],
    ['time, space, upper-case PM', 'at 3:15 PM today', 'at 3h15pm today'],
    ['time with p.m.', '3:15 p.m. today', '3h15pm today'],
    ['time with a dot and pm', '3.15pm', '3h15pm'],
    ['time with a dot, space, pm', '3.15 pm', '3h15pm'],
    ['time with a space and pm', 'meet at 3 15pm', 'meet at 3h15pm'],
    ['time, no-break space, pm', '3:15\u00a0pm', '3h15pm'],
    ['time, spaces, pm', '3:15   pm', '3h15pm'],
    ['time with seconds, space, am', '20:22:05 am', '20h22h05am'],
    ['hour with pm is not leetspeak', '3pm', '3pm'],
    ['hour with am is not leetspeak', 'at 1am and 12AM', 'at 1am and 12am'],
    ['hours with am and pm', '10am-5pm', '10am 5pm'],
    ['fullwidth time, space, pm', '３：１５ ｐｍ', '3h15pm'],
    ['not a time: a decimal', '3.15 litres', '3 15 litres'],
    ['not a time: two numbers', 'ages 3 15 and', 'ages 3 15 and'],
    ['not a time: two numbers then pm', '3 15 pm', '3 15 pm'],
    ['not a time: an hour and "am", which may be "I am"', 'im 12 am i too young', 'im 12 am i too young'],
    ['not a time: pm after a space joined to more letters', '3:15 pmx', '3h15 pmx'],
  ];

  it.each(cases)('%s: %j', (_why, input, want) => {
    expect(foldText(input)).toBe(want);
  });

  it.each(cases)('is idempotent (%s)', (_why, input) => {
    const once = foldText(input);
    expect(foldText(once)).toBe(once);
  });

  // The ASCII fast path and the Unicode path must agree: appending a Cyrillic word forces the
  // Unicode path for the same ASCII text.
  const asciiCases = cases.filter(([, input]) => /^[\x00-\x7f]*$/.test(input) && foldText(input) !== '');
  it.each(asciiCases)('fast and Unicode paths agree (%s)', (_why, input) => {
    expect(foldText(`${input} ж`)).toBe(`${foldText(input)} ж`);
  });

  it('returns folded input as the same string', () => {
    const s = 'already folded text';
    expect(foldText(s)).toBe(s);
  });

  it('never leaves double, leading or trailing spaces', () => {
    const inputs = ['  a  b  ', '--a--b--', "a ' b", '$a$ $b$', 'ą  ę', '\u00a0x\u00a0'];
    for (const input of inputs) {
      const out = foldText(input);
      expect(out).not.toMatch(/^ | $|  /);
    }
  });
});

describe('decodeQueryValue', () => {
  const cases: [string, string, string][] = [
    ['plain', 'hello', 'hello'],
    ['empty', '', ''],
    ['plus is a space', 'how+to+stay+safe', 'how to stay safe'],
    ['encoded plus stays a plus', 'c%2B%2B', 'c++'],
    ['encoded space', 'a%20b', 'a b'],
    ['two-byte UTF-8', 'caf%C3%A9', 'café'],
    ['lower-case hex', 'caf%c3%a9', 'café'],
    ['Polish', 'jak+si%C4%99+zabi%C4%87', 'jak się zabić'],
    ['three-byte UTF-8', '%E2%82%AC5', '€5'],
    ['four-byte UTF-8', '%F0%9F%98%80', '😀'],
    ['Urdu', '%D8%AE%D9%88%D8%AF%DA%A9%D8%B4%DB%8C', 'خودکشی'],
    ['raw non-ASCII passes through', 'zabić', 'zabić'],
    ['encoded percent', '100%25', '100%'],
    ['percent then hex digits stays decoded once', '%2541', '%41'],
    // malformed escapes are kept as written
    ['lone percent', '100%', '100%'],
    ['percent and one digit', '%4', '%4'],
    ['percent and non-hex', '%zz', '%zz'],
    ['percent, hex, non-hex', '%4g', '%4g'],
    ['malformed then valid', '%zz%41', '%zzA'],
    ['malformed with plus', '%+a', '% a'],
    // bytes that are not valid UTF-8 keep their escapes
    ['lone continuation byte', '%80', '%80'],
    ['invalid byte FF', '%FFabc', '%FFabc'],
    ['invalid byte then ASCII escape', '%FF%41', '%FFA'],
    ['truncated two-byte sequence', 'caf%C3', 'caf%C3'],
    ['truncated three-byte sequence', '%E2%82', '%E2%82'],
    ['truncated sequence then valid', '%E2%82%C3%A9', '%E2%82é'],
    ['overlong two-byte', '%C0%AF', '%C0%AF'],
    ['overlong three-byte', '%E0%80%AF', '%E0%80%AF'],
    ['UTF-16 surrogate', '%ED%A0%80', '%ED%A0%80'],
    ['above U+10FFFF', '%F4%90%80%80', '%F4%90%80%80'],
    ['Latin-1 é is not UTF-8', 'caf%E9', 'caf%E9'],
    ['case of a kept escape is preserved', '%fe', '%fe'],
  ];

  it.each(cases)('%s: %j', (_why, input, want) => {
    expect(decodeQueryValue(input)).toBe(want);
  });

  it('never throws on any two-character escape', () => {
    for (let b = 0; b < 256; b++) {
      const esc = '%' + b.toString(16).padStart(2, '0');
      expect(() => decodeQueryValue(esc + esc + 'x')).not.toThrow();
    }
  });

  it('agrees with decodeURIComponent on valid input', () => {
    const inputs = ['a%20b', 'caf%C3%A9', '%E2%82%AC', '%F0%9F%98%80', '%D8%AE%D9%88', 'x%2Fy%3Fz'];
    for (const input of inputs) expect(decodeQueryValue(input)).toBe(decodeURIComponent(input));
  });
});
