// The 64 KiB pages the page benches read: the fixture pages' bodies end to end in one HTML
// document, with a head, a style and a script to skip, cut at 64 KiB.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(import.meta.dirname, '../test/fixtures/safeguarding');
export const PAGE_BYTES = 64 * 1024;

/** The bodies of these fixture pages (files under pages/), repeated until the page is PAGE_BYTES. */
export function bigPage(files: readonly string[]): Buffer {
  const bodies = files.map((f) => {
    const html = readFileSync(join(FIXTURES, 'pages', f), 'utf8');
    const m = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html);
    return m ? m[1]! : html;
  });
  let out = '<!doctype html><html><head><meta charset="utf-8"><title>Page</title><style>body{font:16px sans-serif}</style></head><body>';
  for (let i = 0; Buffer.byteLength(out) < PAGE_BYTES - 4096; i++) out += `<section>${bodies[i % bodies.length]!}</section>`;
  out += '<script>window.analytics = { page: "x" };</script></body></html>';
  const buf = Buffer.from(out);
  return buf.subarray(0, Math.min(buf.length, PAGE_BYTES));
}
