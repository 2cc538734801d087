// What reloads do to memory, without traffic: the shipped configuration on the shared bench set,
// held as `schoolgate start` holds it (ListService, each reload's lists built in a child
// process; parsed phrase files kept in the state folder; LiveSnapshot over it), reloaded RELOADS times; during each, the process's RSS sampled
// every 100 ms (its peak: what a reload in progress costs this process); after each, two full
// collections and the process's RSS, heap used and external memory (and, a second after each reload,
// before those collections, what the one LiveSnapshot asks for after the swap left). Growth of the heap is something kept alive;
// growth or swings of the RSS with a flat heap are the allocator's (see bench/RESULTS.md, "RSS
// over 1,000,000 requests and 20 reloads", for MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_).
//
//   node --import tsx --expose-gc bench/reload-memory.ts
//   MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --import tsx --expose-gc bench/reload-memory.ts
//
// Environment: RELOADS (default 6), HEAP_SNAPSHOTS=DIR (heap snapshots after the second and the last reload).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { stringify } from 'yaml';
import { benchConfig, fmt, keepPhraseFilesAsStartDoes, requireShared } from './lib.js';
import { ListService } from '../src/lists/service.js';
import { LiveSnapshot } from '../src/proxy/live-snapshot.js';
import { createLogger } from '../src/log.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
requireShared();
const RELOADS = Number(process.env.RELOADS ?? 6);
const SNAPSHOTS = process.env.HEAP_SNAPSHOTS;
const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-reload-memory-'));
try {
  const doc = benchConfig();
  doc.proxy = { ...(doc.proxy ?? {}), networks: [{ cidr: '127.0.0.1/32', group: 'ks2' }], resolve: { '*': '127.0.0.1' } };
  const file = join(tmp, 'bench.yaml');
  writeFileSync(file, stringify(doc));
  const log = createLogger({ level: 'warn', destination: 2 });
  await keepPhraseFilesAsStartDoes(join(tmp, 'data'));
  const service = await ListService.start({ configFile: file, dataDir: join(tmp, 'data'), log });
  const live = new LiveSnapshot(service, { log });
  service.onReload(() => live.refresh('reload'));
  const mb = (n: number): string => fmt(n / 2 ** 20, 1);
  const rss: number[] = [];
  const peaks: number[] = [];
  const show = (k: number): void => {
    gc();
    gc();
    const m = process.memoryUsage();
    if (k > 0) rss.push(m.rss);
    console.log(`reload ${k}: RSS ${mb(m.rss)} MiB, heap used ${mb(m.heapUsed)} MiB, external ${mb(m.external)} MiB (array buffers ${mb(m.arrayBuffers)}); snapshot ${live.current.version}`);
  };
  console.log(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'} MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? '(unset)'}`);
  show(0);
  for (let k = 1; k <= RELOADS; k++) {
    const t0 = performance.now();
    let peak = process.memoryUsage.rss();
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
    await service.reload('bench');
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    peaks.push(peak);
    // Before this script's own collections: what LiveSnapshot's collection after the swap left
    // (V8 frees a dead ArrayBuffer's memory on a background thread, so a second later).
    await new Promise((r) => setTimeout(r, 1000));
    const left = process.memoryUsage();
    process.stdout.write(`(${fmt(performance.now() - t0)} ms, peak RSS during it ${mb(peak)} MiB; 1 s after it, before this script's collections: RSS ${mb(left.rss)} MiB, external ${mb(left.external)} MiB) `);
    show(k);
    if (SNAPSHOTS && (k === 2 || k === RELOADS)) v8.writeHeapSnapshot(join(SNAPSHOTS, `reload-${k}.heapsnapshot`));
  }
  const mean = rss.reduce((a, b) => a + b, 0) / rss.length;
  console.log(`Peak RSS during reloads: ${mb(Math.max(...peaks))} MiB (+${fmt(((Math.max(...peaks) - mean) / mean) * 100, 1)} % of the mean after them)`);
  console.log(`After reloads 1–${RELOADS}: RSS ${mb(Math.min(...rss))}–${mb(Math.max(...rss))} MiB, mean ${mb(mean)}, within ${fmt(((Math.min(...rss) - mean) / mean) * 100, 1)} / +${fmt(((Math.max(...rss) - mean) / mean) * 100, 1)} %`);
  live.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
