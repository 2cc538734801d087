// Shared assertions for configuration errors: each problem names the file and the line, and
// reads the same way once formatted.
import { expect } from 'vitest';
import { ConfigError, formatProblem, type ConfigProblem } from '../../src/config/errors.js';

export interface WantedProblem {
  readonly line: number;
  readonly key: string;
  readonly message: string | RegExp;
}

/** The problems `load` throws for `file` (it must throw a ConfigError). */
export function problemsOf(load: () => unknown): ConfigProblem[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

export function expectProblems(problems: readonly ConfigProblem[], file: string, want: readonly WantedProblem[]): void {
  expect(problems.map((p) => ({ line: p.line, key: p.key }))).toEqual(want.map((w) => ({ line: w.line, key: w.key })));
  problems.forEach((p, i) => {
    const w = want[i]!;
    expect(p.file).toBe(file);
    if (typeof w.message === 'string') expect(p.message).toBe(w.message);
    else expect(p.message).toMatch(w.message);
    expect(formatProblem(p)).toContain(p.line > 0 ? `${file}:${p.line}: ` : `${file}: `);
  });
}
