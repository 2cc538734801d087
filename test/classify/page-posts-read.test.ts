// readPosts with a stand-in model, so that which posts are read is what is tested: "blick" reads
// as suicide (its danger class as probable), "zorp" as suicide with a danger class of 0.5,
// "glorp" with one of 0.75; the lists know only "quux" (suicide, 5).
import { describe, expect, it } from 'vitest';
import { POST_PROMOTE_HELD, readPosts, readPostsWith, type PostModel } from '../../src/classify/page-posts.js';
import { PhraseMatcher } from '../../src/classify/phrases.js';
import type { SearchModel } from '../../src/classify/search-model.js';

const read: string[] = [];
const model = {
  categories: ['suicide'],
  categoryProbabilities(folded: string) {
    read.push(folded);
    const p = folded.includes('blick') || folded.includes('zorp') || folded.includes('glorp') ? 0.99 : 0.01;
    const d = folded.includes('blick') ? 0.99 : folded.includes('zorp') ? 0.5 : folded.includes('glorp') ? 0.75 : 0;
    return { probability: Float64Array.of(p), danger: Float64Array.of(d), top: Int32Array.of(-1) };
  },
  explain: () => [],
} as unknown as SearchModel;
const use: PostModel = { model, threshold: 0.97 };
const m = new PhraseMatcher([{ category: 'suicide', phrase: 'quux', weight: 5, language: 'en', file: 't.yaml', line: 1 }] as never, { default: 10 });

const QUUX = 'my quux arrived this morning and i am going to set it up tonight with my brother';
const CHAT = 'anyone going to the match on saturday afternoon with the lads from school';
function posts(blocks: string[], raised = new Set<string>(), urgent = raised) {
  const text = blocks.join('\n');
  const page = m.matchPage(text);
  read.length = 0;
  return readPosts(text, page.hits, page.read, use, raised, urgent);
}

describe('readPosts', () => {
  it('reads the posts next to one holding a listed word: a reply or a follow-up says what the lists did not', () => {
    const blick = 'honestly i feel so blick blick blick and i dont know who to tell anyone';
    expect(posts([CHAT, QUUX, blick, CHAT]).map((p) => [p.category, p.urgent])).toEqual([['suicide', true]]);
    // Two posts away from the listed word it is not read.
    expect(posts([QUUX, CHAT, 'so i went to the shops and then', blick])).toEqual([]);
    expect(read.some((r) => r.includes('blick'))).toBe(false);
  });

  it('for a concern raised below danger, only a post whose danger class reaches the threshold counts; raised at danger, nothing is read', () => {
    const zorp = `${QUUX} and i feel so zorp`;
    const blick = `${QUUX} and i feel so blick`;
    const raised = new Set(['suicide']);
    expect(posts([CHAT, zorp], raised, new Set())).toEqual([]);
    expect(posts([CHAT, blick], raised, new Set()).map((p) => [p.category, p.danger, p.urgent])).toEqual([['suicide', 0.99, true]]);
    expect(posts([CHAT, blick], raised, raised)).toEqual([]);
    expect(read).toEqual([]);
    // Not raised: the concern's probability is enough, at caution (not urgent).
    expect(posts([CHAT, zorp]).map((p) => [p.category, p.urgent])).toEqual([['suicide', false]]);
  });

  it('takes a concern the lists raised below danger to danger at a lower danger class when the post holds their own evidence of it', () => {
    expect(POST_PROMOTE_HELD).toBeLessThan(use.threshold);
    const raised = new Set(['suicide']);
    // The post holding "quux" reads a danger class of 0.75: the lists and the model agree on it.
    expect(posts([CHAT, `${QUUX} and i feel so glorp`], raised, new Set()).map((p) => [p.category, p.danger, p.urgent])).toEqual([['suicide', 0.75, true]]);
    // The same words in the post next to it, which holds no evidence of the lists: not enough.
    expect(posts([QUUX, 'and honestly i feel so glorp today about all of it', CHAT], raised, new Set())).toEqual([]);
    // Not raised by the lists at all: the page threshold holds (probability 0.99, caution).
    expect(posts([CHAT, `${QUUX} and i feel so glorp`]).map((p) => [p.category, p.urgent])).toEqual([['suicide', false]]);
  });

  it('does not ask about a concern in a post the page frames where it is said (a character\'s story, not a child\'s own)', () => {
    // "wibble" is page framing of suicide (pages-only, negative): in the post, it frames that post only.
    const framing = new PhraseMatcher([
      { category: 'suicide', phrase: 'quux', weight: 5, language: 'en', file: 't.yaml', line: 1 },
      { category: 'suicide', phrase: 'wibble', weight: -20, language: 'en', file: 'p.yaml', line: 1, pagesOnly: true },
    ] as never, { default: 10 });
    const read = (blocks: string[]) => {
      const text = blocks.join('\n');
      const page = framing.matchPage(text);
      return readPosts(text, page.hits, page.read, use, new Set(), new Set()).map((p) => p.category);
    };
    const story = `a wibble story read aloud: ${QUUX} and i feel so blick`;
    expect(read([CHAT, story])).toEqual([]);
    // Framing in another post leaves this one read.
    expect(read(['this is a wibble page about the club and its weekend matches', CHAT, `${QUUX} and i feel so blick`])).toEqual(['suicide']);
  });

  it('with two readers, reads the same posts once for both and keeps per concern the urgent, then the more probable, reading', () => {
    // A second reader that reads "zorp" and "blick" as more probable, but never urgent.
    const second: PostModel = {
      model: {
        categories: ['suicide'],
        categoryProbabilities: (folded: string) => ({ probability: Float64Array.of(folded.includes('zorp') || folded.includes('blick') ? 0.995 : 0.01), danger: Float64Array.of(0), top: Int32Array.of(-1) }),
        explain: () => [],
      } as unknown as SearchModel,
      threshold: 0.7,
    };
    const both = (blocks: string[]) => {
      const text = blocks.join('\n');
      const page = m.matchPage(text);
      read.length = 0;
      const together = readPostsWith([use, second], text, page.hits, page.read, new Set(), new Set());
      const apart = [use, second].map((r) => readPosts(text, page.hits, page.read, r, new Set(), new Set()));
      return { together, apart };
    };
    const zorp = both([CHAT, `${QUUX} and i feel so zorp`]);
    // The first reader: 0.99, urgent neither (danger 0.5); the second: 0.995, so the second's.
    expect(zorp.apart.map((a) => a.map((p) => p.probability))).toEqual([[0.99], [0.995]]);
    expect(zorp.together).toEqual(zorp.apart[1]);
    const blick = both([CHAT, `${QUUX} and i feel so blick`]);
    // The first reader's is urgent (danger 0.99) and wins over a more probable reading that is not.
    expect(blick.apart.map((a) => a.map((p) => [p.probability, p.urgent]))).toEqual([[[0.99, true]], [[0.995, false]]]);
    expect(blick.together.map((p) => [p.probability, p.urgent])).toEqual([[0.99, true]]);
    expect(blick.together).toEqual(blick.apart[0]);
  });

  it('a sweeping reader also reads the page\'s other first-person posts, at its own threshold, up to its count; others read candidates only', () => {
    const sweeping = (posts: number, page: number): PostModel => ({ ...use, threshold: 0.7, sweep: { posts, page } });
    const run = (reader: PostModel, blocks: string[]) => {
      const text = blocks.join('\n');
      const page = m.matchPage(text);
      read.length = 0;
      return readPostsWith([reader], text, page.hits, page.read, new Set(), new Set()).map((p) => [p.category, p.probability]);
    };
    const blick = 'honestly i feel so blick blick blick and i dont know who to tell anyone';
    // No listed word anywhere: a candidate reader reads nothing; a sweeping one reads the blick post.
    expect(run({ ...use, threshold: 0.7 }, [CHAT, CHAT, blick])).toEqual([]);
    expect(read).toEqual([]);
    expect(run(sweeping(5, 0.9), [CHAT, CHAT, blick])).toEqual([['suicide', 0.99]]);
    // Posts not in the first person are not read ("anyone going to the match" has no "i").
    expect(read.every((r) => r.includes('blick'))).toBe(true);
    // Its own threshold holds: 0.99 is below 0.995.
    expect(run(sweeping(5, 0.995), [CHAT, blick])).toEqual([]);
    // At most `posts` of them, in page order: the blick post is the third first-person one.
    const mine = 'i went to the shops with my mum and then i came home again';
    expect(run(sweeping(2, 0.9), [mine, mine, blick])).toEqual([]);
    expect(run(sweeping(3, 0.9), [mine, mine, blick])).toEqual([['suicide', 0.99]]);
    // Beside a listed word the candidates come first, each post read once.
    expect(run(sweeping(5, 0.9), [QUUX, CHAT, mine, blick])).toEqual([['suicide', 0.99]]);
    expect(new Set(read).size).toBe(read.length);
  });
});
