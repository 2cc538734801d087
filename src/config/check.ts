// A small validator for YAML values: each check reports a problem with the key's line and a
// fix, and returns undefined so the caller can carry on and report every problem at once.
import { ConfigError, type ConfigProblem } from './errors.js';
import type { KeyPath, YamlFile } from './yaml.js';

export class Checker {
  readonly problems: ConfigProblem[] = [];
  /** Settings that work but should be changed (old key names): reported, never refused. */
  readonly warnings: ConfigProblem[] = [];
  constructor(readonly yaml: YamlFile) {}

  fail(path: KeyPath, message: string, fix?: string): undefined {
    this.problems.push(this.yaml.problem(path, message, fix));
    return undefined;
  }

  /**
   * Which of a renamed key's two names `obj` (at `path`) uses: the new one, or the old one with
   * a deprecation warning, so a school's existing file keeps working. Both at once is an error;
   * undefined when neither is there.
   */
  renamed(path: KeyPath, obj: Record<string, unknown>, oldKey: string, newKey: string): string | undefined {
    const hasOld = obj[oldKey] !== undefined;
    if (obj[newKey] !== undefined) {
      if (hasOld) this.fail([...path, oldKey], `"${oldKey}" and "${newKey}" are the same setting (${oldKey} is its old name), given twice`, `keep only ${newKey}`);
      return newKey;
    }
    if (!hasOld) return undefined;
    this.warnings.push(this.yaml.problem([...path, oldKey], `"${oldKey}" is deprecated: it is the old name of "${newKey}", read the same for now`, `rename it to ${newKey}`));
    return oldKey;
  }

  object(path: KeyPath, v: unknown, allowed?: readonly string[]): Record<string, unknown> | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.fail(path, `must be a mapping (key: value lines), found ${describe(v)}`);
    const obj = v as Record<string, unknown>;
    if (allowed) {
      for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) this.fail([...path, k], `unknown key "${k}"`, `use one of: ${allowed.join(', ')}`);
      }
    }
    return obj;
  }

  array(path: KeyPath, v: unknown): unknown[] | undefined {
    if (!Array.isArray(v)) return this.fail(path, `must be a list ("- item" lines), found ${describe(v)}`);
    return v;
  }

  string(path: KeyPath, v: unknown, opts: { pattern?: RegExp; patternHelp?: string; oneOf?: readonly string[] } = {}): string | undefined {
    if (typeof v !== 'string' || v === '') return this.fail(path, `must be a non-empty text value, found ${describe(v)}`);
    if (opts.oneOf && !opts.oneOf.includes(v)) return this.fail(path, `"${v}" is not allowed`, `use one of: ${opts.oneOf.join(', ')}`);
    if (opts.pattern && !opts.pattern.test(v)) return this.fail(path, `"${v}" is not valid`, opts.patternHelp);
    return v;
  }

  number(path: KeyPath, v: unknown, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(path, `must be a number, found ${describe(v)}`);
    if (opts.integer && !Number.isInteger(v)) return this.fail(path, `must be a whole number, found ${v}`);
    if (opts.min !== undefined && v < opts.min) return this.fail(path, `must be at least ${opts.min}, found ${v}`);
    if (opts.max !== undefined && v > opts.max) return this.fail(path, `must be at most ${opts.max}, found ${v}`);
    return v;
  }

  boolean(path: KeyPath, v: unknown): boolean | undefined {
    if (typeof v !== 'boolean') return this.fail(path, `must be true or false, found ${describe(v)}`);
    return v;
  }

  /** A string that parses as a URL; `example` is shown in the fix when it does not. */
  url(path: KeyPath, v: unknown, example: string): URL | undefined {
    const text = this.string(path, v);
    if (text === undefined) return undefined;
    try {
      return new URL(text);
    } catch {
      return this.fail(path, `"${text}" is not a URL`, `for example ${example}`);
    }
  }

  /**
   * A list of ids each of which must be known (categories, groups): the known ones, each reported
   * by its own line when it is not ("unknown category \"gamez\"").
   */
  ids(path: KeyPath, v: unknown, known: { has(id: string): boolean }, noun: string, fix: string): Set<string> {
    const out = new Set<string>();
    (this.array(path, v) ?? []).forEach((item, i) => {
      const id = this.string([...path, i], item);
      if (id === undefined) return;
      if (!known.has(id)) this.fail([...path, i], `unknown ${noun} "${id}"`, fix);
      else out.add(id);
    });
    return out;
  }

  /** Throws one ConfigError carrying every problem found, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'string' ? 'text' : typeof v} ${JSON.stringify(v)}`;
}
