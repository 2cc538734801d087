// YAML documents with line numbers: validators walk plain values and ask this for the line
// of a key path when they need to report a problem.
import { readFileSync } from 'node:fs';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';

export type KeyPath = readonly (string | number)[];

export class YamlFile {
  private constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    /** The file's text as read: what was parsed. */
    readonly text: string,
  ) {}

  /** Reads and parses a YAML file; syntax errors and unreadable files become ConfigErrors. */
  static read(file: string): YamlFile {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigError([{ file, line: 0, key: '', message: e.code === 'ENOENT' ? 'file not found' : `cannot read: ${e.message}`, fix: 'check the path' }]);
    }
    return YamlFile.parse(file, text);
  }

  static parse(file: string, text: string): YamlFile {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(doc.errors.map((e) => ({
        file, line: lines.linePos(e.pos[0]).line, key: '', message: `YAML syntax: ${e.message.split('\n')[0]}`,
        fix: 'check indentation and quoting on that line',
      })));
    }
    return new YamlFile(file, doc.toJS({ maxAliasCount: 100 }) as unknown, doc, lines, text);
  }

  /**
   * The line of the key at `path` (for a mapping key: where the key is written, not its value,
   * which may start on the next line), or of its nearest existing parent; 0 if unknown.
   */
  lineOf(path: KeyPath): number {
    for (let n = path.length; n >= 0; n--) {
      const last = path[n - 1];
      if (typeof last === 'string') {
        const parent = n === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, n - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value === last : p.key === last));
          if (pair && isNode(pair.key) && pair.key.range) return this.lines.linePos(pair.key.range[0]).line;
        }
      }
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 0;
  }

  problem(path: KeyPath, message: string, fix?: string): ConfigProblem {
    return { file: this.file, line: this.lineOf(path), key: keyName(path), message, ...(fix ? { fix } : {}) };
  }
}

export function keyName(path: KeyPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}
