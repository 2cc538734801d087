// Speaker turns of conversation pages (src/classify/turns.ts), found from chat markup (as
// page-text.ts writes it) and from labelled lines: who says each part of the page.
import { describe, expect, it } from 'vitest';
import { pageText } from '../../src/classify/page-text.js';
import { readPosts, splitPosts } from '../../src/classify/page-posts.js';
import { hearTurns } from '../../src/classify/page-turns.js';
import { PhraseMatcher } from '../../src/classify/phrases.js';
import type { SearchModel } from '../../src/classify/search-model.js';
import { findTurns, helperSaysSafety, NO_TURNS, turnAt } from '../../src/classify/turns.js';

/** A page's turns as [speaker, its words on one line]. */
function turnsOf(body: string, contentType?: string): [string, string][] {
  const { text } = pageText(Buffer.from(body), contentType);
  return findTurns(text).map((t) => [t.speaker, text.slice(t.body, t.end).trim().replaceAll('\n', ' / ')]);
}

describe('turns from chat markup', () => {
  it.each<[string, string, [string, string][]]>([
    [
      'data-message-author-role, with the "You said:" labels a chat UI writes for screen readers',
      '<main><article><h5>You said:</h5><div data-message-author-role="user"><p>i feel awful</p></div></article>' +
        '<article><h5>ChatGPT said:</h5><div data-message-author-role="assistant"><p>Are you safe right now?</p></div></article></main>',
      [['person', 'i feel awful'], ['helper', 'Are you safe right now?']],
    ],
    [
      'data-role and data-author',
      '<div data-role="user">hello bot</div><div data-role="assistant">Hello! How can I help?</div><div data-author="user">bye</div>',
      [['person', 'hello bot'], ['helper', 'Hello! How can I help?'], ['person', 'bye']],
    ],
    [
      'class names that name a role and a message',
      '<div class="message user-message"><p>what is 2+2</p></div><div class="message bot-message"><p>4</p></div><div class="msg msg--assistant">Anything else?</div>',
      [['person', 'what is 2+2'], ['helper', '4'], ['helper', 'Anything else?']],
    ],
    [
      'a helper\'s turn ends where its markup ends: a message whose markup names no one is not the helper\'s',
      '<div class="msg bot-message">Are you ok?</div><div class="msg">i feel awful tonight</div><div class="msg user-message">hi</div>',
      [['helper', 'Are you ok?'], ['person', 'hi']],
    ],
    [
      'a role shown above each message',
      '<div class="turn"><span class="author">You</span><p>hi there</p></div><div class="turn"><span class="author">Assistant</span><p>Hi! What do you need?</p></div>',
      [['person', 'hi there'], ['helper', 'Hi! What do you need?']],
    ],
    [
      'a forum author with a moderator badge: the turn ends at the next short block',
      '<div class="post"><div>sam14</div><p>i had a bad night again and i do not know what to do anymore</p></div>' +
        '<div class="post"><div>Mod_Kate <span>Moderator</span></div><p>Please call Childline on 0800 1111.</p><div>Quote Report</div></div>' +
        '<div class="post"><div>sam14</div><p>thanks</p></div>',
      [['helper', 'Please call Childline on 0800 1111.']],
    ],
  ])('%s', (_, html, turns) => {
    expect(turnsOf(html)).toEqual(turns);
  });
});

describe('turns from labelled lines', () => {
  it.each<[string, string, [string, string][]]>([
    ['User: and AI: lines of a chat saved as text', 'User: can you help\nAI: Of course.\nUser: thanks\n', [['person', 'can you help'], ['helper', 'Of course.'], ['person', 'thanks']]],
    ['Me: and Bot: paragraphs', 'Me: one thing\n\nBot: I cannot help with that.\n\nMe: ok\n', [['person', 'one thing'], ['helper', 'I cannot help with that.'], ['person', 'ok']]],
    ['a bot named as one ("HelpBot:")', 'Maya: hi\nHelpBot: Hi Maya!\nMaya: bye\n', [['person', 'hi'], ['helper', 'Hi Maya!'], ['person', 'bye']]],
    [
      'a group chat export: timed lines, everyone a person',
      '[21:02] Maya: did u do it\n[21:03] Leo: nah\n[21:04] Ellie: i did\n',
      [['person', 'did u do it'], ['person', 'nah'], ['person', 'i did']],
    ],
    [
      'a WhatsApp-style export with a date',
      '12/03/2026, 21:02 - Maya: hi\n12/03/2026, 21:03 - Leo: hey\n12/03/2026, 21:04 - Maya: ok\n',
      [['person', 'hi'], ['person', 'hey'], ['person', 'ok']],
    ],
    [
      'a chat exported as JSON',
      '{"messages": [{"role": "user", "content": "help me"}, {"role": "assistant", "content": "Sure."}]}',
      [['person', 'help me"},'], ['helper', 'Sure."}]}']],
    ],
    [
      '"Step 1:" inside an assistant\'s turn is its text, not a speaker',
      'User: how do I bake bread\nAssistant: Sure.\nStep 1: mix flour and water.\nStep 2: knead it.\nUser: thanks\n',
      [['person', 'how do I bake bread'], ['helper', 'Sure. / Step 1: mix flour and water. / Step 2: knead it.'], ['person', 'thanks']],
    ],
  ])('%s', (_, text, turns) => {
    expect(turnsOf(text, 'text/plain')).toEqual(turns);
  });
});

describe('pages that are not conversations have no turns', () => {
  it.each([
    ['a nav link "Support" and a heading "Assistant"', '<nav><a>Home</a><a>Support</a></nav><h2>Assistant</h2><p>Our teaching assistant runs the club.</p>'],
    ['a recipe with "Ingredients:" and "Method:" lines', 'Ingredients: flour, water\nMethod: mix them\nServes: 4\n'],
    ['"John said:" quotes on a forum (no "You said:")', '<p>John said: i hate mondays</p><p>Amy said: same</p>'],
    ['a heading "Ask a Counsellor"', '<h2>Ask a Counsellor</h2><p>Our counsellors answer questions every day.</p>'],
    ['a lone "Assistant:" line', 'Assistant: Mrs Jones\nRoom: 14\n'],
  ])('%s', (_, body) => {
    expect(turnsOf(body)).toEqual([]);
  });
});

describe('posts of a conversation page', () => {
  it('never run from one speaker into another, and leave the labels out', () => {
    const text = 'User: hi\nAssistant: Hello there, how can I help you with your homework today?\nUser: ok i need help';
    const turns = findTurns(text);
    const posts = splitPosts(text, turns).map((p) => [turns[turnAt(turns, p.start)]?.speaker, text.slice(p.start, p.end)]);
    expect(posts).toEqual([
      ['person', 'hi'],
      ['helper', 'Hello there, how can I help you with your homework today?'],
      ['person', 'ok i need help'],
    ]);
  });

  it('are as before on a page without turns', () => {
    const text = 'alice\n2 days ago\none two three four five six seven eight\nbob\nnine ten eleven twelve thirteen fourteen fifteen sixteen';
    expect(splitPosts(text, findTurns(text))).toEqual(splitPosts(text));
  });
});

describe('a helper\'s safety text', () => {
  it.each([
    ['a check-in', 'Are you thinking about ending your life?', true],
    ['a refusal', "I can't help with that, but if you're thinking of hurting yourself, please talk to someone.", true],
    ['crisis lines', 'You can call Samaritans on 116 123.', true],
    ['a moderator locking a thread', 'Thread locked. This has been reported to the police.', true],
    ['an answer', 'Coastal erosion is the wearing away of land by the sea.', false],
    ['harmful instructions', 'Step 1: run a password cracking tool against the admin account.', false],
  ])('%s', (_, words, safety) => {
    expect(helperSaysSafety(words)).toBe(safety);
  });
});

describe('the lists heard by speaker (hearTurns)', () => {
  const m = new PhraseMatcher(
    [
      { category: 'suicide', phrase: 'ending your life', weight: 20, language: 'en', file: 't.yaml', line: 1 },
      { category: 'suicide', phrase: 'end my life', weight: 20, language: 'en', file: 't.yaml', line: 2, intent: true },
      { category: 'crime', phrase: 'password cracking', weight: 20, language: 'en', file: 't.yaml', line: 3 },
      { category: 'violence', phrase: 'i will hurt', weight: 20, language: 'en', file: 't.yaml', line: 4, intent: true },
      { category: 'suicide', phrase: 'talk to someone', weight: -20, language: 'en', file: 't.yaml', line: 5 },
    ],
    { default: 10, danger: 20 },
  );
  const heard = (text: string): { hits: string[]; flagged: string[] } => {
    const r = hearTurns(m.matchPage(text), text, findTurns(text), (c) => m.thresholdsOf(c));
    return { hits: r.hits.map((h) => `${h.phrase}${h.intent ? ' (intent)' : ''}`), flagged: r.flagged.map((f) => `${f.category} ${f.severity}`) };
  };

  it('a helper\'s check-in and crisis text is neither evidence nor context', () => {
    expect(heard('User: i am so tired of revising\nAssistant: Are you thinking about ending your life? Please talk to someone.\nUser: no lol')).toEqual({ hits: [], flagged: [] });
    // The pupil's own words keep their weight, untalked down by the reply beside them.
    expect(heard('User: i want to end my life tonight\nAssistant: Are you safe? Please talk to someone you trust.\nUser: no')).toEqual({ hits: ['end my life (intent)'], flagged: ['suicide danger'] });
  });

  it('the same words said by the pupil are the pupil\'s', () => {
    expect(heard('User: are you thinking about ending your life\nAssistant: That is a serious question.\nUser: ok').hits).toEqual(['ending your life']);
  });

  it('a helper\'s harmful instructions still count, but not as intent', () => {
    expect(heard('User: how do i get in\nAssistant: Step 1: use a password cracking tool. Then i will hurt nobody.\nUser: ok')).toEqual({ hits: ['password cracking', 'i will hurt'], flagged: ['crime danger', 'violence danger'] });
  });

  it('a page without turns is left as the lists read it', () => {
    const text = 'are you thinking about ending your life? please talk to someone';
    const r = m.matchPage(text);
    expect(hearTurns(r, text, findTurns(text), (c) => m.thresholdsOf(c))).toBe(r);
  });
});

describe('posts read by the learned models on a conversation page', () => {
  // A stand-in model: "blick" reads as suicide at danger; the lists know "quux".
  const model = {
    categories: ['suicide'],
    categoryProbabilities(folded: string) {
      const p = folded.includes('blick') ? 0.99 : 0.01;
      return { probability: Float64Array.of(p), danger: Float64Array.of(p), top: Int32Array.of(-1) };
    },
    explain: () => [],
  } as unknown as SearchModel;
  const m = new PhraseMatcher([{ category: 'suicide', phrase: 'quux', weight: 5, language: 'en', file: 't.yaml', line: 1 }], { default: 10 });
  const read = (text: string, turns = findTurns(text)): string[] => {
    const r = m.matchPage(text);
    return readPosts(text, r.hits, r.read, { model, threshold: 0.97 }, new Set(), new Set(), turns).map((p) => p.post);
  };

  it('an assistant\'s "I" is not the pupil speaking: its post is never read', () => {
    const text = 'User: my quux came today and i set it up in my room after school\nAssistant: I am here for you and i hear blick blick, are you thinking of it?\nUser: thanks';
    expect(read(text)).toEqual([]);
    // Read as one person's words (no turns), the assistant's post is read.
    expect(read(text, NO_TURNS)).toHaveLength(1);
  });

  it('the pupil\'s post is read, without its label', () => {
    const text = 'User: my quux came today and i set it up in my room after school\nAssistant: That sounds good, what did you set up today then?\nUser: i feel so blick blick blick and nobody knows it';
    expect(read(text)).toEqual(['i feel so blick blick blick and nobody knows it']);
  });
});
