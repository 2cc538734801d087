// The naive matcher the design is measured against: a JS Map from each listed name (a
// string) to the lists that hold it, checked suffix by suffix with String#slice, and URL
// entries in a Map from host to [path prefix, list] pairs. No validation, no line numbers.
import { readFileSync } from 'node:fs';
import { listPrefixLength, type NormalisedUrl } from '../src/classify/normalise-url.js';

export interface BaselineList {
  readonly name: string;
  readonly domains?: string;
  readonly urls?: string;
}

function readLines(path: string | undefined): string[] {
  if (!path) return [];
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

export class SetBaseline {
  readonly names = new Map<string, number[]>();
  readonly urls = new Map<string, [string, number][]>();
  constructor(readonly lists: readonly BaselineList[]) {
    lists.forEach((list, id) => {
      for (const raw of readLines(list.domains)) {
        const name = raw.trim().toLowerCase();
        if (name === '' || name.startsWith('#')) continue;
        const ids = this.names.get(name);
        if (ids) { if (!ids.includes(id)) ids.push(id); } else this.names.set(name, [id]);
      }
      for (const raw of readLines(list.urls)) {
        const entry = raw.trim();
        if (entry === '' || entry.startsWith('#')) continue;
        const slash = entry.search(/[/?]/);
        let host = (slash < 0 ? entry : entry.slice(0, slash)).toLowerCase();
        host = host.slice(listPrefixLength(host));
        let path = slash < 0 ? '' : entry.slice(slash).toLowerCase();
        if (path.endsWith('/')) path = path.slice(0, -1);
        const bucket = this.urls.get(host);
        if (bucket) bucket.push([path, id]); else this.urls.set(host, [[path, id]]);
      }
    });
  }

  has(host: string): boolean {
    if (this.names.has(host)) return true;
    for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) if (this.names.has(host.slice(i + 1))) return true;
    return false;
  }

  /** The ids of every list that holds the host, a parent domain, or a URL prefix of the request. */
  match(url: NormalisedUrl): number[] {
    const out: number[] = [];
    const add = (ids: readonly number[] | undefined): void => {
      if (ids) for (const id of ids) if (!out.includes(id)) out.push(id);
    };
    const host = url.host;
    add(this.names.get(host));
    if (url.hostType === 'name') for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) add(this.names.get(host.slice(i + 1)));
    const bucket = this.urls.get(host.slice(listPrefixLength(host)));
    if (bucket) {
      const key = (url.query === '' ? url.path : `${url.path}?${url.query}`).toLowerCase();
      for (const [prefix, id] of bucket) {
        if (key.startsWith(prefix) && (key.length === prefix.length || '/?&;'.includes(key[prefix.length]!))) add([id]);
      }
    }
    return out;
  }
}
