// Configuration errors name the file, the line, the key and the fix, so a technician can
// correct a YAML file without reading our source.

export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 when the problem is not tied to a line (a missing file). */
  readonly line: number;
  /** Dotted path of the key, e.g. "lists.sources[2].format". */
  readonly key: string;
  readonly message: string;
  /** What to do about it, in a technician's words. */
  readonly fix?: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.key ? `${p.key}: ` : ''}${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}
