// YAML documents with line numbers: validators walk plain values and ask this for the line
// of a key path when they need to report a problem.
//
// A file read without a syntax error is kept as parsed (its value and the line of every key and
// value: LineTree) in the state folder's cache when one is set (config/kept.ts), and read back
// while its text and the code are the same. Loading the YAML parser and running its code cold
// cost a command more than anything else it did with the configuration's few small files; with
// them kept, the parser is not even loaded.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { readParsed, textHash, writeParsed } from '../classify/phrase-cache.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { keptFolder } from './kept.js';

export type KeyPath = readonly (string | number)[];

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | null = null;
/** The parser, loaded when a file is first parsed (the package's CommonJS build, which `import 'yaml'` also gives Node). */
function yamlLib(): YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);
}

/**
 * Where a document's nodes start: `line` of the node (0 when it has no position), and for a
 * mapping the line of each key (0 likewise) with its value's tree, for a sequence each item's.
 * Built from the parsed document, it answers lineOf exactly as the document does.
 */
export interface LineTree {
  readonly line: number;
  readonly map?: Map<unknown, { readonly keyLine: number; readonly value: LineTree }>;
  readonly seq?: readonly LineTree[];
}

const NOWHERE: LineTree = { line: 0 };

/** What is kept of a file parsed without errors. */
interface Kept {
  readonly value: unknown;
  readonly lines: LineTree | null;
}

export class YamlFile {
  private constructor(
    readonly file: string,
    readonly value: unknown,
    /** The document as parsed, or null for a file read back as kept (then `tree` answers lineOf). */
    private readonly doc: Document | null,
    private readonly lines: LineCounter | null,
    private readonly tree: LineTree | null,
    /** The file's text as read: what was parsed. */
    readonly text: string,
  ) {}

  /**
   * Reads and parses a YAML file; syntax errors and unreadable files become ConfigErrors. Read
   * back as kept when it is (see above), and kept when it parses and this process may keep it.
   */
  static read(file: string): YamlFile {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigError([{ file, line: 0, key: '', message: e.code === 'ENOENT' ? 'file not found' : `cannot read: ${e.message}`, fix: 'check the path' }]);
    }
    const kept = keptFolder();
    const hash = kept === null ? '' : textHash(text);
    const back = kept === null ? null : readParsed<Kept>(kept.dir, file, hash, 'yaml');
    if (back !== null) return new YamlFile(file, back.value, null, null, back.lines, text);
    const parsed = YamlFile.parse(file, text);
    if (kept?.write) writeParsed(kept.dir, file, hash, { value: parsed.value, lines: parsed.lineTree() } satisfies Kept, 'yaml');
    return parsed;
  }

  static parse(file: string, text: string): YamlFile {
    const { LineCounter, parseDocument } = yamlLib();
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(doc.errors.map((e) => ({
        file, line: lines.linePos(e.pos[0]).line, key: '', message: `YAML syntax: ${e.message.split('\n')[0]}`,
        fix: 'check indentation and quoting on that line',
      })));
    }
    return new YamlFile(file, doc.toJS({ maxAliasCount: 100 }) as unknown, doc, lines, null, text);
  }

  /**
   * The line of the key at `path` (for a mapping key: where the key is written, not its value,
   * which may start on the next line), or of its nearest existing parent; 0 if unknown.
   */
  lineOf(path: KeyPath): number {
    if (this.doc === null) return treeLineOf(this.tree, path);
    const { isMap, isNode, isScalar } = yamlLib();
    for (let n = path.length; n >= 0; n--) {
      const last = path[n - 1];
      if (typeof last === 'string') {
        const parent = n === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, n - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value === last : p.key === last));
          if (pair && isNode(pair.key) && pair.key.range) return this.lines!.linePos(pair.key.range[0]).line;
        }
      }
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return this.lines!.linePos(node.range[0]).line;
    }
    return 0;
  }

  /** Every node's line, as kept with the value: null for an empty document. */
  lineTree(): LineTree | null {
    if (this.doc === null) return this.tree;
    const { isMap, isNode, isScalar, isSeq } = yamlLib();
    const lineAt = (node: unknown): number => (isNode(node) && node.range ? this.lines!.linePos(node.range[0]).line : 0);
    const walk = (node: YamlNode | null): LineTree => {
      if (isMap(node)) {
        const map = new Map<unknown, { keyLine: number; value: LineTree }>();
        // As getIn finds a pair: by a scalar key's value, the first pair of that value winning.
        for (const pair of node.items) {
          if (isScalar(pair.key) && !map.has(pair.key.value)) map.set(pair.key.value, { keyLine: lineAt(pair.key), value: walk(pair.value as YamlNode | null) });
        }
        return { line: lineAt(node), map };
      }
      if (isSeq(node)) return { line: lineAt(node), seq: node.items.map((item) => walk(item as YamlNode | null)) };
      return node === null || node === undefined ? NOWHERE : { line: lineAt(node) };
    };
    return this.doc.contents === null ? null : walk(this.doc.contents);
  }

  problem(path: KeyPath, message: string, fix?: string): ConfigProblem {
    return { file: this.file, line: this.lineOf(path), key: keyName(path), message, ...(fix ? { fix } : {}) };
  }
}

/** The tree below `root` at `path`, found as Document.getIn finds a node (a sequence takes "3" for 3); undefined when there is none. */
function treeAt(root: LineTree | null, path: KeyPath): LineTree | undefined {
  let node: LineTree | undefined = root ?? undefined;
  for (const key of path) {
    if (node === undefined) return undefined;
    if (node.map) node = node.map.get(key)?.value;
    else if (node.seq) {
      const index = typeof key === 'string' && key !== '' ? Number(key) : key;
      node = typeof index === 'number' && Number.isInteger(index) && index >= 0 ? node.seq[index] : undefined;
    } else return undefined;
  }
  return node;
}

/** lineOf over a kept LineTree: the same steps as over the document. */
function treeLineOf(root: LineTree | null, path: KeyPath): number {
  for (let n = path.length; n >= 0; n--) {
    const last = path[n - 1];
    if (typeof last === 'string') {
      const keyLine = treeAt(root, path.slice(0, n - 1))?.map?.get(last)?.keyLine ?? 0;
      if (keyLine > 0) return keyLine;
    }
    const line = treeAt(root, path.slice(0, n))?.line ?? 0;
    if (line > 0) return line;
  }
  return 0;
}

export function keyName(path: KeyPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}
