// Small helpers shared by the benchmarks: timing with the best of several rounds (this machine
// is shared and noisy), per-call percentiles, memory deltas after forced GC, and the shared data.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/blocklists');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function requireShared(): void {
  if (!existsSync(join(SHARED, 'bench-set'))) {
    console.error(`The shared bench data is not at ${SHARED}; benchmarks need ../shared/blocklists beside the project.`);
    process.exit(2);
  }
}

export function trafficUrls(limit = Infinity): string[] {
  const lines = readFileSync(join(SHARED, 'traffic.txt'), 'utf8').split('\n').filter(Boolean);
  // Copy each line out of the file's one big string, as a request URL would arrive on its own.
  return lines.slice(0, limit).map((l) => Buffer.from(l).toString());
}

export interface Labelled {
  readonly url: string;
  readonly origin: string;
  readonly expected: readonly string[];
}

export function trafficLabels(): Labelled[] {
  const rows = readFileSync(join(SHARED, 'traffic.labels.tsv'), 'utf8').split('\n');
  const out: Labelled[] = [];
  for (const row of rows.slice(1)) {
    if (!row) continue;
    const [url, origin, domainCats, urlCats] = row.split('\t');
    const expected = [...new Set([...(domainCats ?? '').split('|'), ...(urlCats ?? '').split('|')].filter(Boolean))].sort();
    out.push({ url: url!, origin: origin!, expected });
  }
  return out;
}

declare const gc: (() => void) | undefined;

export async function settledMemory(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    if (typeof gc === 'function') gc();
    await new Promise((r) => setTimeout(r, 30));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Operations per second over `items`, best of `rounds` passes. */
export function throughput<T>(items: readonly T[], rounds: number, fn: (item: T) => unknown): number {
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < items.length; i++) if (fn(items[i]!)) sink++;
    best = Math.min(best, performance.now() - t0);
  }
  if (sink < 0) console.log(sink);
  return (items.length / best) * 1000;
}

/** p50 and p99 of single calls in nanoseconds, with the timer's own cost subtracted. */
export function percentiles<T>(items: readonly T[], fn: (item: T) => unknown): { p50: number; p99: number } {
  const times = new Float64Array(items.length);
  const empty = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const t0 = performance.now();
    empty[i] = performance.now() - t0;
  }
  for (let i = 0; i < items.length; i++) {
    const t0 = performance.now();
    fn(items[i]!);
    times[i] = performance.now() - t0;
  }
  times.sort();
  empty.sort();
  const overhead = empty[empty.length >> 1]!;
  const at = (q: number): number => Math.max(0, (times[Math.min(times.length - 1, Math.floor(q * times.length))]! - overhead) * 1e6);
  return { p50: at(0.5), p99: at(0.99) };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]!) : String(v).padStart(widths[c]!))).join('  ')).join('\n');
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The commit measured, and whether src/ differed from it (others edit while benchmarks run). */
export function codeVersion(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).map((l) => l.slice(3));
    return `${git('rev-parse', '--short', 'HEAD')}${dirty.length > 0 ? ` (uncommitted in src/: ${dirty.join(', ')})` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** The shared bench set as a list source (the squidGuard layout, mapped by the shipped categories.yaml). */
export function benchSetSource(): Record<string, unknown> {
  return { name: 'bench', format: 'squidguard', path: join(SHARED, 'bench-set') };
}

/**
 * The shipped configuration (config/default.yaml) as a YAML document, with its paths made absolute
 * and UT1's download replaced by `listSources` (by default the shared bench set: same squidGuard
 * layout, mapped by the same categories.yaml). The caller adds its own proxy section and writes it out.
 * `root`: another checkout's configuration (bench/startup.ts's baseline); `keepUt1`: UT1 left as shipped.
 */
export function benchConfig(listSources: readonly Record<string, unknown>[] = [benchSetSource()], opts: { root?: string; keepUt1?: boolean } = {}): Record<string, any> {
  const configDir = join(opts.root ?? ROOT, 'config');
  const doc = parseYaml(readFileSync(join(configDir, 'default.yaml'), 'utf8')) as Record<string, any>;
  const abs = (p: string): string => resolve(configDir, p);
  doc.categories = abs(doc.categories);
  doc.search.engines = abs(doc.search.engines);
  // The never-intercept list is named relative to config/ as well.
  if (typeof doc.tls?.neverIntercept === 'string') doc.tls.neverIntercept = abs(doc.tls.neverIntercept);
  doc.phrases.files = doc.phrases.files.map(abs);
  if (typeof doc.phrases.model?.file === 'string') doc.phrases.model.file = abs(doc.phrases.model.file);
  // The post model beside it (phrases.model.posts.file) too.
  if (typeof doc.phrases.model?.posts?.file === 'string') doc.phrases.model.posts.file = abs(doc.phrases.model.posts.file);
  const sources = (doc.lists.sources as Record<string, unknown>[]).filter((s) => opts.keepUt1 === true || s.name !== 'ut1');
  for (const s of sources) if (typeof s.path === 'string') s.path = abs(s.path);
  sources.push(...listSources);
  doc.lists.sources = sources;
  return doc;
}

/**
 * What `schoolgate start` does before it loads the lists: parsed phrase and YAML files are kept in the
 * state folder's cache, so a reload whose phrase files did not change reads none again (without
 * it a reload's configuration costs seconds and tens of MiB more than in production).
 */
export async function keepPhraseFilesAsStartDoes(dataDir: string): Promise<void> {
  const [{ keepParsedFiles }, { phraseCacheDir }] = await Promise.all([import('../src/config/kept.js'), import('../src/classify/phrase-cache.js')]);
  keepParsedFiles(phraseCacheDir(dataDir));
}
