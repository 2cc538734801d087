// Changing a configuration file the way a person would: only the lines of the settings that
// change are touched; every other byte (comments, their alignment, blank lines, flow lists,
// quoting) stays as it was. A technician who later diffs the file, or edits it by hand, finds
// their own formatting and only the app's change.
//
// The `yaml` library does the reading (where each key and value is written) and the writing of
// each new value; this file only decides which spans of the text to replace. The result is
// parsed again and must mean exactly what the Document API edit means; if it does not (a form
// this does not handle: anchors, tags, block scalars, keys that are not plain scalars), the
// Document API's own rendering is used, which keeps the comments but not all the layout.
import { Document, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';

/**
 * The text after `edit` has changed its document (setIn, deleteIn, …), written so that only the
 * lines of the values that differ change.
 */
export function editYaml(text: string, edit: (doc: Document) => void): string {
  const doc = parseDocument(text);
  edit(doc);
  return rewriteYaml(text, doc.toJS({ maxAliasCount: 100 })) ?? doc.toString({ lineWidth: 0 });
}

/** The text changed to mean `next`, touching only what differs; null when that cannot be done in place. */
export function rewriteYaml(text: string, next: unknown): string | null {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isNode(doc.contents)) return null;
  const editor = new Editor(text, doc);
  if (!editor.node(doc.contents, next)) return null;
  const out = editor.result();
  try {
    const back = parseDocument(out);
    return back.errors.length === 0 && sameValue(back.toJS({ maxAliasCount: 100 }), next) ? out : null;
  } catch {
    // An alias left without its anchor, and the like: not the document asked for.
    return null;
  }
}

interface Splice {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

class Editor {
  readonly #text: string;
  readonly #doc: Document;
  /** The file's line ending: new text is written with \n and given this one at the end. */
  readonly #eol: string;
  /** Spaces per nesting level, and whether a list under a key is indented, as the file writes them. */
  readonly #step: number;
  readonly #indentSeq: boolean;
  readonly #splices: Splice[] = [];

  constructor(text: string, doc: Document) {
    this.#text = text;
    this.#doc = doc;
    this.#eol = text.includes('\r\n') ? '\r\n' : '\n';
    const style = layoutOf(text, doc.contents);
    this.#step = style.step;
    this.#indentSeq = style.indentSeq;
  }

  /** The text with every splice made (against the original offsets, so from the end backwards). */
  result(): string {
    const ordered = this.#splices.map((s, i) => ({ s, i })).sort((a, b) => b.s.from - a.s.from || b.i - a.i);
    let out = this.#text;
    for (const { s } of ordered) out = out.slice(0, s.from) + s.text.replaceAll('\n', this.#eol) + out.slice(s.to);
    return out;
  }

  /**
   * Makes `node` mean `next`; false when only its parent can (by writing the whole entry again),
   * and then nothing of this node's is left changed.
   */
  node(node: unknown, next: unknown): boolean {
    const mark = this.#splices.length;
    const ok = this.#node(node, next);
    if (!ok) this.#splices.length = mark;
    return ok;
  }

  #node(node: unknown, next: unknown): boolean {
    if (!isNode(node)) return false;
    if (sameValue(node.toJS(this.#doc, { maxAliasCount: 100 }), next)) return true;
    if (isAlias(node) || node.anchor !== undefined || node.tag !== undefined || !node.range) return false;
    if (isScalar(node)) return this.#scalar(node, next);
    if ((isMap(node) || isSeq(node)) && node.flow) return this.#inline(node, next);
    if (isMap(node) && isPlainObject(next)) return this.#blockMap(node, next);
    if (isSeq(node) && Array.isArray(next)) return this.#blockSeq(node, next);
    return false;
  }

  #scalar(node: Scalar, next: unknown): boolean {
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') return false;
    // A short flat list or mapping fits where the scalar was ([google, bing]); anything deeper
    // needs lines of its own under the key.
    if ((Array.isArray(next) || isPlainObject(next)) && !isFlat(next)) return false;
    return this.#inline(node, next);
  }

  /** Replaces a value written on one line (a scalar, or a flow list or mapping) where it stands. */
  #inline(node: Node, next: unknown): boolean {
    const [from, to] = node.range!;
    const padded = (isMap(node) || isSeq(node)) && this.#text[from + 1] === ' ';
    const type = isScalar(node) ? node.type : undefined;
    const text = renderInline(next, { padded, ...(type ? { type } : {}) });
    if (text === null) return false;
    // An empty value ("key:" with nothing after it) needs a space before the new one.
    const gap = from === to && from > 0 && this.#text[from - 1] !== ' ' ? ' ' : '';
    this.#splices.push({ from, to, text: gap + text });
    return true;
  }

  #blockMap(map: YAMLMap, next: Record<string, unknown>): boolean {
    // An empty mapping cannot be written as lines under its key: the entry itself changes.
    if (Object.keys(next).length === 0) return false;
    const pairs = map.items as Pair[];
    const keys: string[] = [];
    for (const pair of pairs) {
      const key = keyOf(pair);
      if (key === null) return false;
      keys.push(key);
    }
    for (const [i, pair] of pairs.entries()) {
      const key = keys[i]!;
      if (!Object.hasOwn(next, key)) {
        if (!this.#deletePair(pair)) return false;
      } else if (!this.node(pair.value, next[key]) && !this.#replacePair(pair, key, next[key])) {
        return false;
      }
    }
    const added = Object.keys(next).filter((k) => !keys.includes(k));
    if (added.length > 0) {
      const first = pairs[0]!;
      const col = this.#column((first.key as Node).range![0]);
      const at = this.#afterLine(contentEnd(pairs.at(-1)!));
      const lines = added.map((k) => this.#indent(this.#render({ [k]: next[k] }), col, true));
      this.#insert(at, lines);
    }
    return true;
  }

  #blockSeq(seq: YAMLSeq, next: readonly unknown[]): boolean {
    if (next.length === 0) return false;
    const items = seq.items as Node[];
    if (items.some((item) => !isNode(item) || !item.range)) return false;
    if (items.length === next.length) {
      // The same number of entries: each is changed where it stands (one schedule's end time).
      return items.every((item, i) => this.node(item, next[i]) || this.#replaceItem(item, next[i]));
    }
    // Entries removed and added (a site list): the entries kept, in order, lead the new list,
    // and whatever follows them is added after the last entry.
    let kept = 0;
    for (const item of items) {
      if (kept < next.length && sameValue(item.toJS(this.#doc, { maxAliasCount: 100 }), next[kept])) kept++;
      else if (!this.#deleteItem(item)) return false;
    }
    const added = next.slice(kept);
    if (added.length > 0) {
      const dash = dashOf(this.#text, items.at(-1)!);
      if (dash === null) return false;
      const col = this.#column(dash);
      const at = this.#afterLine(contentEnd(items.at(-1)!));
      this.#insert(at, added.map((v) => this.#indent(`- ${this.#indent(this.#value(v), 2, false)}`, col, true)));
    }
    return true;
  }

  /** Writes a key and its new value again, from the key to the end of the value's last line. */
  #replacePair(pair: Pair, key: string, value: unknown): boolean {
    const from = (pair.key as Node).range![0];
    this.#splices.push({ from, to: this.#lineEnd(contentEnd(pair)), text: this.#indent(this.#render({ [key]: value }), this.#column(from), false) });
    return true;
  }

  /** Writes a list entry again after its dash. */
  #replaceItem(item: Node, value: unknown): boolean {
    const from = item.range![0];
    this.#splices.push({ from, to: this.#lineEnd(contentEnd(item)), text: this.#indent(this.#value(value), this.#column(from), false) });
    return true;
  }

  /** Removes a key's lines; only when the key starts its line (not the first key of a list entry). */
  #deletePair(pair: Pair): boolean {
    const key = (pair.key as Node).range![0];
    const start = this.#lineStart(key);
    if (this.#text.slice(start, key).trim() !== '') return false;
    this.#splices.push({ from: start, to: this.#afterLine(contentEnd(pair)), text: '' });
    return true;
  }

  #deleteItem(item: Node): boolean {
    const dash = dashOf(this.#text, item);
    if (dash === null) return false;
    const start = this.#lineStart(dash);
    if (this.#text.slice(start, dash).trim() !== '') return false;
    this.#splices.push({ from: start, to: this.#afterLine(contentEnd(item)), text: '' });
    return true;
  }

  #insert(at: number, lines: readonly string[]): void {
    const lead = at === this.#text.length && !this.#text.endsWith('\n') ? '\n' : '';
    this.#splices.push({ from: at, to: at, text: lead + lines.map((l) => `${l}\n`).join('') });
  }

  /** A value as a list entry or mapping would hold it: block lines for a non-empty collection. */
  #value(v: unknown): string {
    return isNonEmptyCollection(v) ? this.#render(v) : renderInline(v, { padded: false }) ?? this.#render(v);
  }

  #render(v: unknown): string {
    return new Document(v).toString({ indent: this.#step, indentSeq: this.#indentSeq, lineWidth: 0 }).replace(/\n$/, '');
  }

  /** Each line after the first (and the first too, when `first`) moved right by `col` spaces. Lines end in \n until result(). */
  #indent(text: string, col: number, first: boolean): string {
    const pad = ' '.repeat(col);
    return text.split('\n').map((line, i) => ((i > 0 || first) && line !== '' ? pad + line : line)).join('\n');
  }

  #lineStart(pos: number): number {
    return this.#text.lastIndexOf('\n', pos - 1) + 1;
  }

  /** Where the line holding `pos` ends (its newline, or the end of the text). */
  #lineEnd(pos: number): number {
    const nl = this.#text.indexOf('\n', pos);
    const end = nl === -1 ? this.#text.length : nl;
    return end > 0 && this.#text[end - 1] === '\r' && end - 1 >= pos ? end - 1 : end;
  }

  /** The start of the line after the one holding `pos`. */
  #afterLine(pos: number): number {
    const nl = this.#text.indexOf('\n', pos);
    return nl === -1 ? this.#text.length : nl + 1;
  }

  #column(pos: number): number {
    return pos - this.#lineStart(pos);
  }
}

/** Where a node's own text ends: not its trailing comment, nor the comment lines after a block. */
function contentEnd(node: Node | Pair): number {
  if (!isNode(node)) {
    const key = (node.key as Node).range![1];
    const value = node.value as Node | null;
    return isNode(value) && value.range ? Math.max(key, contentEnd(value)) : key;
  }
  if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0) return contentEnd(node.items.at(-1) as Node | Pair);
  return node.range![1];
}

/** The offset of the dash that starts a block list entry, or null if the text is not "- value". */
function dashOf(text: string, item: Node): number | null {
  let i = item.range![0] - 1;
  while (i >= 0 && text[i] === ' ') i--;
  return i >= 0 && text[i] === '-' ? i : null;
}

function keyOf(pair: Pair): string | null {
  return isScalar(pair.key) && pair.key.range && ['string', 'number', 'boolean'].includes(typeof pair.key.value) ? String(pair.key.value) : null;
}

/** A value written on one line: a scalar in the style it had, or a flow collection. */
function renderInline(value: unknown, opts: { padded: boolean; type?: Scalar['type'] }): string | null {
  const doc = new Document(value);
  if (isScalar(doc.contents) && opts.type) doc.contents.type = opts.type;
  if (isMap(doc.contents) || isSeq(doc.contents)) doc.contents.flow = true;
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: opts.padded }).replace(/\n$/, '');
  return text.includes('\n') ? null : text;
}

/** How far the file indents a nested mapping, and whether a list under a key is indented. */
function layoutOf(text: string, root: unknown): { step: number; indentSeq: boolean } {
  let step: number | undefined;
  let indentSeq: boolean | undefined;
  const column = (pos: number): number => pos - (text.lastIndexOf('\n', pos - 1) + 1);
  const walk = (node: unknown): void => {
    if (!isMap(node) || node.flow) return;
    for (const pair of node.items as Pair[]) {
      const key = pair.key as Node;
      const value = pair.value;
      if (!key?.range || !isNode(value) || !value.range) continue;
      if (step === undefined && isMap(value) && !value.flow && value.items.length > 0) {
        const child = (value.items[0] as Pair).key as Node;
        if (child?.range && column(child.range[0]) > column(key.range[0])) step = column(child.range[0]) - column(key.range[0]);
      }
      if (indentSeq === undefined && isSeq(value) && !value.flow && value.items.length > 0) {
        const dash = dashOf(text, value.items[0] as Node);
        if (dash !== null) indentSeq = column(dash) > column(key.range[0]);
      }
      if (step !== undefined && indentSeq !== undefined) return;
      walk(value);
    }
  };
  walk(root);
  return { step: step ?? 2, indentSeq: indentSeq ?? true };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function isNonEmptyCollection(v: unknown): boolean {
  return (Array.isArray(v) && v.length > 0) || (isPlainObject(v) && Object.keys(v).length > 0);
}

/** A collection of scalars only. */
function isFlat(v: unknown[] | Record<string, unknown>): boolean {
  return Object.values(v).every((x) => x === null || typeof x !== 'object');
}

/** The same plain value (what the configuration loader would read), key order aside. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}
