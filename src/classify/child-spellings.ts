// How younger pupils spell short words by sound ("kil u", "yorself ded", "wy do i", "dus",
// "nite", "hak"). The one-edit repair skips words under five letters (too many short English
// words are one edit from a listed one), so these are read from a small curated map instead:
// each entry is a spelling no ordinary search means as anything else. Searches only; a listed
// spelling is read too ("ded", "kil": the lists hold "dead" and "kill" beside them), but the
// text-speak the lists use as typed ("pls", "ppl", "cos", "thru") is not in the map.

/** Sound-spellings read as the word meant, whatever the words around them. */
const RESPELLED: Readonly<Record<string, string>> = {
  u: 'you', ur: 'your', yor: 'your', yore: 'your', yoself: 'yourself', yorself: 'yourself', yurself: 'yourself', urslef: 'yourself',
  myslef: 'myself', mysef: 'myself', miself: 'myself', meself: 'myself',
  meny: 'many', pils: 'pills', pil: 'pill', tabs: 'tablets', ded: 'dead', deded: 'dead', kil: 'kill', kils: 'kills', kiling: 'killing', kiled: 'killed', kild: 'killed',
  wai: 'why', wat: 'what', wot: 'what', wht: 'what', wen: 'when', wer: 'where', wher: 'where',
  nite: 'night', nites: 'nights', '2nite': 'tonight', tonite: 'tonight', dus: 'does', duz: 'does',
  hak: 'hack', hakk: 'hack', haking: 'hacking', hakin: 'hacking', hakked: 'hacked', hakd: 'hacked',
 
  enuf: 'enough', nuff: 'enough', luv: 'love', sed: 'said', sez: 'says', skool: 'school', skul: 'school',
  nife: 'knife', nifes: 'knives', nives: 'knives', hert: 'hurt', cutt: 'cut', cuting: 'cutting',
  lyf: 'life', lyfe: 'life', laif: 'life', hed: 'head', noe: 'know', kno: 'know', evry: 'every', evryone: 'everyone',
  frend: 'friend', frends: 'friends', fren: 'friend', gurl: 'girl', grl: 'girl',
  nyt: 'night', '2day': 'today', '2moro': 'tomorrow', '2morrow': 'tomorrow', b4: 'before', gr8: 'great', h8: 'hate', h8s: 'hates', m8: 'mate', m8s: 'mates',
};

/**
 * "dye" is a word for hair and cloth too; it is read as "die" only where what follows reads as
 * dying: nothing ("i want 2 dye"), or a word of time, manner or company rather than a thing dyed
 * ("dye all the time", "dye tonight", "dye alone"), and not after "tie" or "to dye my".
 */
const DYE_FOLLOWERS = new Set([
  'all', 'tonight', 'now', 'today', 'soon', 'already', 'alone', 'in', 'when', 'because', 'pls', 'please', 'lol', 'rn', 'asap', 'every', 'so',
  'and', 'but', 'quietly', 'peacefully', 'painlessly', 'fast', 'quickly', 'tomorrow', 'young', 'anymore', 'forever', 'inside', 'bc', 'cos', 'coz',
  'ngl', 'tbh', 'sometimes', 'everyday', 'honestly', 'already', 'idk', 'like', 'tho', 'though', 'before', 'b4', 'if', 'or', 'of', 'from',
]);
/** Words before "dye" that make it the verb of a person: "want to/2 dye", "i dye", "gonna dye". */
const DYE_LEADERS = new Set(['to', '2', 'i', 'wanna', 'gonna', 'will', 'should', 'just', 'me', 'could', 'might', 'gunna', 'wana', 'gona', 'let', 'ill', 'im', 'shall']);

/** Words after "wy" that make it English "why" rather than Polish "wy" (you, plural). */
const WY_FOLLOWERS = new Set(['do', 'does', 'did', 'is', 'are', 'am', 'r', 'u', 'dont', 'cant', 'wont', 'would', 'should', 'not', 'him', 'me', 'her', 'them', 'my', 'isnt', 'doesnt', 'didnt', 'won']);

/** A sound-spelled word, or null: `next` and `prev` are the tokens around it ('' at an end). */
export function respelled(t: string, prev: string, next: string): string | null {
  const word = RESPELLED[t];
  if (word !== undefined) return word;
  if (t === 'wy') return WY_FOLLOWERS.has(next) ? 'why' : null;
  if ((t === 'dye' || t === 'dy' || t === 'dai') && prev !== 'tie' && prev !== 'how' && DYE_LEADERS.has(prev) && (next === '' || DYE_FOLLOWERS.has(next))) return 'die';
  if (t === 'dyeing' && DYE_LEADERS.has(prev) && (next === '' || DYE_FOLLOWERS.has(next))) return 'dying';
  return null;
}
