// Posts of a page, read by the learned search model. A forum thread, a comment section or a
// chat export says a harmful thing in one post among ordinary chatter, and the phrase lists,
// scoring the page as a whole, let the chatter talk it down (scorePage). The model was trained
// on searches, a few words each, so it reads one post at a time, never the page: page text
// keeps a newline where blocks meet (page-text.ts), and a post is a run of blocks.
//
// - Blocks shorter than POST_MIN_WORDS are joined to the next ones (a user name, a date, "Reply"
//   and the post they frame); a post longer than POST_MAX_WORDS is read in windows of that many
//   words, POST_STRIDE_WORDS apart, so that what a window cuts in two the next one holds whole.
// - The model costs a few microseconds a character, so it reads only candidate posts: those
//   holding a positive phrase hit of a concern the lists did not raise at danger on the page,
//   the strongest evidence first, then the posts next to those (a reply or a follow-up often
//   says what the lists did not: bench/RESULTS.md, "Page scoring, fifth round"), at most
//   POST_MAX_READ of them. A page the lists found nothing positive on, or raised every such
//   concern on at danger, costs nothing more.
// - It reads only posts in the first person ("i", "me", "my", …, and their Polish and Roman Urdu
//   counterparts: first-person.ts): a child saying it of
//   themselves, as the searches it was trained on do. A help page, a guide for parents or a
//   lesson speaks to "you" or of "them" when it names a concern, and the model, which has
//   never seen such prose, reads their quotes of harm as harm (bench/RESULTS.md, "Posts of a
//   page"): on the dev pages no benign page's first-person post reached 0.97, while ten benign
//   pages had other posts above 0.95.
// - A concern the lists did not raise on the page is raised (at caution, by detect) when one
//   post's probability for it reaches the page threshold, which is set higher than searches'
//   (config phrases.model.page): a post has more words than a search to be wrong about. When
//   the post's danger class alone reaches that threshold the post is `urgent`: detect raises
//   the concern at danger, or takes it to danger when the lists raised it at caution (a first-
//   person post of a method or a plan, scored as a page by the lists, reached only caution).
//   On the dev pages this took danger pages at danger from 54 to 59 of 82, no benign page
//   changed. A post that holds the lists' own evidence of a concern they raised below danger
//   needs less (POST_PROMOTE_HELD): the two readers agree on the same words.
// - On a conversation page (turns.ts) a post never crosses from one speaker's turn into
//   another's, a helper's (assistant's, bot's, moderator's) posts are never read, and the post
//   next to a pupil's is the pupil's next or last one, past the helper's reply.
// - With phrases.model.posts, the post model (trained on labelled posts of pages, help prose
//   among its negatives) reads the same posts too, at its own threshold (postReader).
import type { PhraseHit } from './phrases.js';
import { COMMON } from './phrases.js';
import { FIRST_PERSON_RAW, postSaysFirstPerson } from './first-person.js';
import { foldText } from './normalise-text.js';
import type { ModelEvidence, SearchModel } from './search-model.js';
import { NO_TURNS, TURN_END, turnAt, type Turn } from './turns.js';

/** Blocks with fewer words than this are joined to what follows (or, at the end, to what precedes). */
export const POST_MIN_WORDS = 8;
/** A longer post is read in windows of this many words ... */
export const POST_MAX_WORDS = 60;
/** ... starting this many words apart. */
export const POST_STRIDE_WORDS = 30;
/**
 * At most this many posts of a page are read by the model, the strongest evidence first. One
 * post of 60 words costs about a tenth of a 64 KiB page's phrase scan on a quiet machine. One,
 * two or three gave the same dev figures; three, because a chat's strongest phrase is not always
 * in its worst message: in a fresh page set a pupil's "how many would it take to unalive someone.
 * like me" held the phrase and scored 0.82, and the next message, "just tell me if 16 is enough",
 * scored 0.97 (bench/RESULTS.md, "Issue 14, fourth round").
 */
export const POST_MAX_READ = 3;
/**
 * A concern the lists raised below danger goes to danger when a first-person post holding the
 * lists' own evidence of it has a danger class of at least this (or the page threshold, if
 * lower): two readers agreeing on one post need less of each. On the dev pages (bench/RESULTS.md,
 * "Pages, sixth round") 0.7 took six danger pages from caution to danger and changed nothing
 * else; 0.8 took four; 0.5 also took a wrong concern of a caution page to danger. It raises no
 * new concern, so a benign page's alerts do not grow in number.
 */
export const POST_PROMOTE_HELD = 0.7;
/** How far from where a hit's share of the text puts it its word is looked for, in characters. */
const OFFSET_REACH = 2000;
/** The post shown as evidence is cut to this many characters (at a word). */
export const POST_EVIDENCE_CHARS = 240;

/** A post: text.slice(start, end), whole words. */
export interface Post {
  readonly start: number;
  readonly end: number;
}

/** What the model reads in one post of a page for one concern it raises. */
export interface PostConcern {
  /** The phrase category. */
  readonly category: string;
  readonly probability: number;
  /** Its danger class's probability (0 when the model has none for the concern). */
  readonly danger: number;
  /** The danger class alone reached the page threshold: the post raises the concern at danger. */
  readonly urgent: boolean;
  /** The post's words, trimmed to POST_EVIDENCE_CHARS. */
  readonly post: string;
  /** Where the post is in the page's text. */
  readonly at: Post;
  /** The post as the model read it (folded): what the evidence's word positions count. */
  readonly read: string;
  /** The n-grams the model weighed most for the concern, strongest first. */
  readonly evidence: readonly ModelEvidence[];
}

/** The model and the probability one post must reach to raise a concern on a page. */
export interface PostModel {
  readonly model: SearchModel;
  readonly threshold: number;
  /**
   * After the candidates, read the page's other first-person posts too, the first `posts` of
   * them in page order, each raising a concern at `page` or above: a child's post with no word
   * on any list is found only so. Null or absent: candidates only.
   */
  readonly sweep?: { readonly posts: number; readonly page: number } | null;
}

/**
 * Who reads a page's posts under phrases.model: the search model at its page threshold, and the
 * post model (trained on labelled posts, README.md "The post model") at its own when one is
 * configured; none when neither is set. Both read the same first-person candidate posts: on
 * the dev pages, the post model reading posts in any person raised five more benign pages for
 * two more harmful ones (bench/RESULTS.md, "The post model"), and reading it in place of the
 * search model lost a danger page the search model's danger class had promoted and raised
 * twelve more benign pages.
 */
export function postReader(m: { readonly model: SearchModel; readonly page?: number | null; readonly posts?: { readonly model: SearchModel; readonly page: number; readonly sweep?: PostModel['sweep'] } | null }): PostModel[] {
  const readers: PostModel[] = m.page == null ? [] : [{ model: m.model, threshold: m.page }];
  if (m.posts != null) readers.push({ model: m.posts.model, threshold: m.posts.page, sweep: m.posts.sweep ?? null });
  return readers;
}

/**
 * What several readers read in a page's posts, one per concern: an urgent reading before one
 * that is not, then the more probable.
 */
export function readPostsWith(readers: readonly PostModel[], text: string, hits: readonly PhraseHit[], read: string, raised: ReadonlySet<string>, urgent: ReadonlySet<string> = raised, turns: readonly Turn[] = NO_TURNS): PostConcern[] {
  // Which posts are read depends on the page and the lists, not on the reader: found once.
  const posts = postsToRead(text, hits, read, raised, urgent, sweepOf(readers), turns);
  if (posts === null) return [];
  if (readers.length === 1) return scorePosts(text, posts, readers[0]!, raised, urgent);
  const best = new Map<string, PostConcern>();
  for (const r of readers) {
    for (const p of scorePosts(text, posts, r, raised, urgent)) {
      const had = best.get(p.category);
      if (had === undefined || (p.urgent && !had.urgent) || (p.urgent === had.urgent && p.probability > had.probability)) best.set(p.category, p);
    }
  }
  return [...best.values()].sort((a, b) => b.probability - a.probability || (a.category < b.category ? -1 : 1));
}

/**
 * The posts of a page's text (blocks parted by newlines, words by spaces, as pageText writes
 * it), in order; windows of a long post overlap.
 */
export function splitPosts(text: string, turns: readonly Turn[] = NO_TURNS): Post[] {
  const posts: Post[] = [];
  if (turns.length === 0) {
    splitRange(text, 0, text.length, posts);
    return posts;
  }
  // A post never runs from one speaker's turn into another's, and a turn's label ("User:",
  // "ChatGPT said:") is no one's words: the text between turns, and each turn's words, are
  // split apart.
  let at = 0;
  for (const t of turns) {
    if (t.start > at) splitRange(text, at, t.start, posts);
    splitRange(text, t.body, t.end, posts);
    at = t.end;
  }
  if (at < text.length) splitRange(text, at, text.length, posts);
  return posts;
}

/** The posts of text[from, to), pushed to `posts`. */
function splitRange(text: string, from: number, to: number, posts: Post[]): void {
  const first = posts.length;
  let start = -1; // of the post being gathered
  let words = 0;
  let at = from;
  const n = to;
  while (at <= n) {
    let end = text.indexOf('\n', at);
    if (end < 0 || end > n) end = n;
    // The end of a turn that chat markup marked (turns.ts, TURN_END) is no word.
    const blockWords = end - at === 1 && text[at] === TURN_END ? 0 : wordCount(text, at, end);
    if (blockWords > 0) {
      if (start < 0) {
        start = at;
        while (text.charCodeAt(start) === 32) start++;
      }
      words += blockWords;
      if (words >= POST_MIN_WORDS) {
        pushPost(text, start, end, words, posts);
        start = -1;
        words = 0;
      }
    }
    at = end + 1;
  }
  if (start >= 0) {
    // A short tail belongs with the post before it, if that post was one piece.
    const last = posts.length > first ? posts[posts.length - 1] : undefined;
    if (last !== undefined && wordCount(text, last.start, last.end) + words <= POST_MAX_WORDS) posts[posts.length - 1] = { start: last.start, end: trimEnd(text, last.start, n) };
    else pushPost(text, start, n, words, posts);
  }
}

/** Words of text[start, end), parted by spaces. */
export function wordCount(text: string, start: number, end: number): number {
  // Word by word with indexOf, which scans natively: a page has thousands of words.
  let words = 0;
  let i = start;
  for (;;) {
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i >= end) return words;
    words++;
    const space = text.indexOf(' ', i);
    if (space < 0 || space >= end) return words;
    i = space + 1;
  }
}

/** Pushes text[start, end) as one post, or as windows when it is long. */
function pushPost(text: string, start: number, end: number, words: number, posts: Post[]): void {
  if (words <= POST_MAX_WORDS) {
    posts.push({ start, end: trimEnd(text, start, end) });
    return;
  }
  // Word starts, to cut windows at.
  const starts: number[] = [];
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && (i === start || text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 10)) starts.push(i);
  }
  for (let w = 0; ; w += POST_STRIDE_WORDS) {
    const last = w + POST_MAX_WORDS >= starts.length;
    const stop = last ? end : starts[w + POST_MAX_WORDS]!;
    posts.push({ start: starts[w]!, end: trimEnd(text, starts[w]!, stop) });
    if (last) break;
  }
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 10)) end--;
  return end;
}

/** The post that reads text[offset] with the most words around it: of the windows holding it, the one it is nearest the middle of. */
export function postAt(posts: readonly Post[], offset: number): number {
  // The last post starting at or before offset, then the windows before it that still hold it.
  let lo = 0;
  let hi = posts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (posts[mid]!.start <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return posts.length > 0 ? 0 : -1;
  let best = found;
  let bestDistance = Infinity;
  for (let k = found; k >= 0 && posts[k]!.end >= posts[found]!.start; k--) {
    const p = posts[k]!;
    if (offset > p.end) continue;
    const distance = Math.abs(offset - (p.start + p.end) / 2);
    if (distance < bestDistance) [best, bestDistance] = [k, distance];
  }
  return best;
}

/**
 * Where in the page's text a hit is: near the share of the text its first word is at in the
 * text as read (folding keeps words in order, and changes their number little), at the
 * occurrence of its longest word nearest there, written in lower case or capitalised (a word in
 * capitals is left at the guess, which is near it).
 */
export function offsetOfHit(hit: Pick<PhraseHit, 'matched' | 'spans'>, readWords: number, text: string): number {
  let first = Infinity;
  for (const s of hit.spans) if (s.start < first) first = s.start;
  const guess = Math.round((first / Math.max(1, readWords)) * text.length);
  let word = '';
  for (const w of hit.matched.split(' ')) if (w !== '…' && !COMMON.has(w) && w.length > word.length) word = w;
  if (word === '') return guess;
  // Looked for within OFFSET_REACH characters of the guess: a word not there is not this hit's.
  const from = Math.max(0, guess - OFFSET_REACH);
  const near = text.slice(from, guess + OFFSET_REACH);
  const at = guess - from;
  let best = -1;
  for (const written of [word, word[0]!.toUpperCase() + word.slice(1)]) {
    for (const found of [near.indexOf(written, at), near.lastIndexOf(written, at)]) {
      if (found >= 0 && (best < 0 || Math.abs(found - at) < Math.abs(best - at))) best = found;
    }
  }
  return best < 0 ? guess : from + best;
}

/**
 * The concerns, other than those in `urgent` (raised at danger), that one candidate post of the
 * page reaches the threshold for, per concern its most probable post; of those in `raised`
 * (raised below danger), only those whose danger class reaches the threshold. `text` is what
 * matchPage read, `hits` its hits and `read` its text as read.
 */
export function readPosts(text: string, hits: readonly PhraseHit[], read: string, use: PostModel, raised: ReadonlySet<string>, urgent: ReadonlySet<string> = raised, turns: readonly Turn[] = NO_TURNS): PostConcern[] {
  const posts = postsToRead(text, hits, read, raised, urgent, sweepOf([use]), turns);
  return posts === null ? [] : scorePosts(text, posts, use, raised, urgent);
}

/** The candidate posts a model reads on a page (postsToRead): the same whichever model reads them. */
interface PostsToRead {
  readonly posts: readonly Post[];
  /** The posts read, at most POST_MAX_READ, in order: their index in `posts` and their words folded. */
  readonly read: readonly { readonly post: number; readonly folded: string }[];
  /** The other first-person posts, in page order, for readers that sweep (as many as the most sweeping reads). */
  readonly swept: readonly { readonly post: number; readonly folded: string }[];
  /** Per post: the concerns the lists raised below danger that it holds evidence of. */
  readonly holds: ReadonlyMap<number, ReadonlySet<string>>;
  /** Per post: the concerns a pages-only framing rule says are told there, not said. */
  readonly framed: ReadonlyMap<number, ReadonlySet<string>>;
}

/** The candidate posts of a page, or null when there is none to read. */
function postsToRead(text: string, hits: readonly PhraseHit[], read: string, raised: ReadonlySet<string>, urgent: ReadonlySet<string>, sweep: number, turns: readonly Turn[]): PostsToRead | null {
  // Only a phrase of a concern the lists did not raise at danger makes a post a candidate: the
  // model raises nothing else, and a page the lists raised everything on at danger costs
  // nothing more, unless a reader sweeps the page's other posts too.
  const positive = hits.filter((h) => h.weight > 0 && !urgent.has(h.category));
  if (positive.length === 0 && sweep === 0) return null;
  const posts = splitPosts(text, turns);
  if (posts.length === 0) return null;
  const readWords = wordCount(read, 0, read.length);
  // Each post's positive evidence, summed: the strongest are read first.
  const weightOf = new Map<number, number>();
  // The concerns the lists raised below danger that each post holds evidence of.
  const holds = new Map<number, Set<string>>();
  for (const h of positive) {
    const p = postAt(posts, offsetOfHit(h, readWords, text));
    if (p < 0) continue;
    weightOf.set(p, (weightOf.get(p) ?? 0) + h.weight);
    if (raised.has(h.category)) {
      const held = holds.get(p) ?? new Set<string>();
      held.add(h.category);
      holds.set(p, held);
    }
  }
  // Posts the page frames where they are said (a pages-only rule of framing in the post: "a
  // fictional pupil", "read by a sixth former", "lesson plan"): their first-person words are a
  // character's or a quote's, not a child's own, and the model is not asked about that concern
  // there. An assembly's or a tutor script's story told as "I started hurting myself" read as a
  // child's post (bench/RESULTS.md, "Pages, seventh round").
  const framed = new Map<number, Set<string>>();
  for (const h of hits) {
    if (h.weight >= 0 || h.pagesOnly !== true) continue;
    const p = postAt(posts, offsetOfHit(h, readWords, text));
    if (p < 0) continue;
    const set = framed.get(p) ?? new Set<string>();
    set.add(h.category);
    framed.set(p, set);
  }
  const holding = [...weightOf].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([p]) => p);
  // Then the posts next to them: a thread's worst message is often the reply to, or the
  // follow-up of, the one the lists found words in. (A set beside the list: a page may hold
  // hundreds of posts with evidence, and a search of the list for each was quadratic.)
  // An assistant's, a bot's or a moderator's turn is not the pupil speaking, whatever its "I"
  // ("I'm here for you. Are you thinking about ending your life?"): it is never read as one,
  // and in a conversation the post next to a pupil's is the pupil's next or last turn, past
  // the helper's reply between them.
  const helper = (p: number): boolean => turns.length > 0 && turns[turnAt(turns, posts[p]!.start)]?.speaker === 'helper';
  const candidates = [...holding];
  const listed = new Set(holding);
  for (const p of holding) {
    for (const step of [1, -1]) {
      let q = p + step;
      while (q >= 0 && q < posts.length && helper(q)) q += step;
      if (q >= 0 && q < posts.length && !listed.has(q)) {
        candidates.push(q);
        listed.add(q);
      }
    }
  }
  const inFirstPerson = (p: number): string | null => {
    if (helper(p)) return null;
    const raw = text.slice(posts[p]!.start, posts[p]!.end);
    // Most posts are ruled out on their raw words, before folding.
    if (!FIRST_PERSON_RAW.test(raw)) return null;
    const folded = foldText(raw.replaceAll('\n', ' '));
    return firstPerson(folded) ? folded : null;
  };
  const toRead: { post: number; folded: string }[] = [];
  const tried = new Set<number>();
  for (const p of candidates) {
    if (toRead.length === POST_MAX_READ) break;
    tried.add(p);
    const folded = inFirstPerson(p);
    if (folded !== null) toRead.push({ post: p, folded });
  }
  const swept: { post: number; folded: string }[] = [];
  for (let p = 0; p < posts.length && swept.length < sweep; p++) {
    if (tried.has(p)) continue;
    const folded = inFirstPerson(p);
    if (folded !== null) swept.push({ post: p, folded });
  }
  return { posts, read: toRead, swept, holds, framed };
}

/** How many posts the most sweeping reader reads beside the candidates (0: none sweeps). */
function sweepOf(readers: readonly PostModel[]): number {
  let most = 0;
  for (const r of readers) if (r.sweep != null && r.sweep.posts > most) most = r.sweep.posts;
  return most;
}

/** What one model reads in a page's candidate posts (readPosts). */
function scorePosts(text: string, candidates: PostsToRead, use: PostModel, raised: ReadonlySet<string>, urgent: ReadonlySet<string>): PostConcern[] {
  const { model, threshold } = use;
  const { posts, holds, framed } = candidates;
  const best = new Map<string, { probability: number; danger: number; post: number; folded: string; top: number; urgent: boolean }>();
  const consider = (p: number, folded: string, threshold: number): void => {
    const { probability, danger, top } = model.categoryProbabilities(folded);
    for (let c = 0; c < probability.length; c++) {
      const category = model.categories[c]!;
      if (urgent.has(category) || framed.get(p)?.has(category) === true) continue;
      let isUrgent: boolean;
      if (raised.has(category)) {
        // A concern the lists raised below danger: only the post's danger class has more to
        // say, and less of it when this post holds the lists' own evidence of the concern.
        const needs = holds.get(p)?.has(category) === true ? Math.min(threshold, POST_PROMOTE_HELD) : threshold;
        if (danger[c]! < needs) continue;
        isUrgent = true;
      } else {
        if (probability[c]! < threshold) continue;
        isUrgent = danger[c]! >= threshold;
      }
      const had = best.get(category);
      if (had === undefined || probability[c]! > had.probability) best.set(category, { probability: probability[c]!, danger: danger[c]!, post: p, folded, top: top[c]!, urgent: isUrgent });
    }
  };
  for (const { post, folded } of candidates.read) consider(post, folded, threshold);
  if (use.sweep != null) for (const { post, folded } of candidates.swept.slice(0, use.sweep.posts)) consider(post, folded, use.sweep.page);
  const out: PostConcern[] = [];
  for (const [category, b] of best) {
    const post = posts[b.post]!;
    out.push({ category, probability: b.probability, danger: b.danger, urgent: b.urgent, post: trimPost(text.slice(post.start, post.end)), at: post, read: b.folded, evidence: b.top < 0 ? [] : model.explain(b.folded, b.top) });
  }
  return out.sort((a, b) => b.probability - a.probability || (a.category < b.category ? -1 : 1));
}

/** Whether a folded post says anything in the first person (first-person.ts: English, Polish, Roman Urdu). */
export const firstPerson = postSaysFirstPerson;

/** A post as shown: one line, cut at a word to POST_EVIDENCE_CHARS with an ellipsis. */
export function trimPost(post: string): string {
  const line = post.replaceAll('\n', ' ');
  if (line.length <= POST_EVIDENCE_CHARS) return line;
  const cut = line.lastIndexOf(' ', POST_EVIDENCE_CHARS);
  return `${line.slice(0, cut > 0 ? cut : POST_EVIDENCE_CHARS)} …`;
}
