// The `redis:` section: where the alert queue (BullMQ) lives, if anywhere.
import type { Checker } from '../config/check.js';

export interface RedisConfig {
  readonly url: string;
  readonly prefix: string;
}

/** `redis:`, or SCHOOLGATE_REDIS_URL when the file names none; null runs delivery in-process. */
export function parseRedisConfig(check: Checker, v: unknown): RedisConfig | null {
  const env = process.env.SCHOOLGATE_REDIS_URL;
  const r = v === undefined ? {} : check.object(['redis'], v, ['url', 'prefix']) ?? {};
  const url = r.url === undefined ? env || undefined : check.url(['redis', 'url'], r.url, 'redis://127.0.0.1:6379')?.href;
  if (url === undefined) return null;
  if (!/^rediss?:/.test(url)) return check.fail(['redis', 'url'], `"${url}" is not a redis:// or rediss:// address`, 'for example redis://127.0.0.1:6379') ?? null;
  const prefix = r.prefix === undefined ? 'schoolgate' : check.string(['redis', 'prefix'], r.prefix, { pattern: /^[A-Za-z0-9:_-]{1,64}$/, patternHelp: 'letters, digits, colons, underscores and hyphens' }) ?? 'schoolgate';
  return { url, prefix };
}
