// What every command shares: argument parsing with --help, the --config and --data options,
// and errors that end the process with a clear message and a meaningful exit code.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CommandSpec<O extends NonNullable<ParseArgsConfig['options']>> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly details?: string;
  readonly options: O;
  /** Help for each option, by option name. */
  readonly help: { readonly [K in keyof O]: string };
  readonly positionals?: { readonly min: number; readonly max: number };
}

export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c', default: 'config/default.yaml' },
  data: { type: 'string', short: 'd', default: 'data' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_HELP = {
  config: 'configuration file (default config/default.yaml)',
  data: 'state folder: downloaded lists, database, pid file (default data/)',
  help: 'show this help',
} as const;

export function helpText(spec: CommandSpec<NonNullable<ParseArgsConfig['options']>>): string {
  const lines = [`schoolgate ${spec.name} - ${spec.summary}`, '', `Usage: schoolgate ${spec.usage}`];
  if (spec.details) lines.push('', spec.details);
  lines.push('', 'Options:');
  for (const [name, opt] of Object.entries(spec.options)) {
    const flag = `${opt.short ? `-${opt.short}, ` : '    '}--${name}${opt.type === 'string' ? ' VALUE' : ''}`;
    lines.push(`  ${flag.padEnd(24)} ${spec.help[name] ?? ''}`);
  }
  return lines.join('\n');
}

export interface Parsed<O> {
  readonly values: O;
  readonly positionals: string[];
  /** true when --help was given: the caller prints help and returns. */
  readonly help: boolean;
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(spec: CommandSpec<O>, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/, '')}\nRun "schoolgate ${spec.name} --help" for usage.`);
  }
  const values = parsed.values as Record<string, unknown>;
  const help = values.help === true;
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  if (!help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${parsed.positionals.length}\nUsage: schoolgate ${spec.usage}`);
  }
  return { values: parsed.values, positionals: parsed.positionals, help };
}

export function paths(values: { config?: string | boolean | undefined; data?: string | boolean | undefined }): { config: string; data: string } {
  return { config: resolve(String(values.config ?? 'config/default.yaml')), data: resolve(String(values.data ?? 'data')) };
}

/** Rows of cells as columns two spaces apart, the first row being the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** Where command output goes; tests capture it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};
