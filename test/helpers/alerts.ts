// Seeding for the alert workflow and digest tests: alerts stored through the real AlertStore
// (folding included) at chosen times, and traffic rows written by the real traffic writer.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { JOURNAL_DIR } from '../../src/alerts/journal-file.js';
import type { AlertCandidate } from '../../src/alerts/detect.js';
import type { AlertStore } from '../../src/alerts/store.js';
import type { SafeguardingCategoryId, SafeguardingConfig, Severity } from '../../src/alerts/taxonomy.js';
import { idAtTime, toTuple, type TrafficEntry } from '../../src/store/traffic-entry.js';
import { TrafficWriter } from '../../src/store/traffic-writer.js';

/** A search that a phrase list flagged. */
export function searchAlert(category: SafeguardingCategoryId, severity: Severity, term: string, phrase: string): AlertCandidate {
  const url = `https://www.google.co.uk/search?q=${encodeURIComponent(term).replace(/%20/g, '+')}`;
  return {
    category, severity, illegal: false, action: 'allow',
    triggers: [{ kind: 'phrase', severity, source: 'search', category, phrase, weight: 10, text: term }],
    searchTerm: { engine: 'google', raw: term, partial: false }, url,
  };
}

/** An address on a list; `illegal` for an illegal-list attempt (no address, no entry). */
export function listAlert(category: SafeguardingCategoryId, severity: Severity, listCategory: string, host: string, illegal = false): AlertCandidate {
  return illegal
    ? { category, severity, illegal, action: 'block', triggers: [{ kind: 'list', severity, category: listCategory, list: listCategory }], searchTerm: null, url: null }
    : {
      category, severity, illegal, action: 'block', searchTerm: null, url: `http://${host}/`,
      triggers: [{ kind: 'list', severity, category: listCategory, list: `selftest/${listCategory}`, entry: host, line: 1 }],
    };
}

export interface Who {
  readonly user: string | null;
  readonly client: string;
  readonly group?: string;
}

/** Stores the candidate as raised at `at` (ISO); returns the alert's id (a fold returns the open alert's). */
export function raiseAt(store: AlertStore, cfg: SafeguardingConfig, at: string, who: Who, c: AlertCandidate, trafficId: number | null = null): number {
  return store.raise([c], { at: Date.parse(at), user: who.user, client: who.client, group: who.group ?? 'ks2', trafficId }, cfg)[0]!.alertId;
}

/**
 * The categories of each entry in a data folder's alert journal, oldest first: a running proxy
 * writes an entry there before answering a request that raises alerts, so a test in another
 * process sees at once whether one was raised (segments are deleted only at a stop, a start, or
 * after 1,000 entries).
 */
export function journalled(dataDir: string): string[][] {
  const dir = join(dataDir, JOURNAL_DIR);
  return readdirSync(dir).sort().flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { candidates: { category: string }[] }).candidates.map((c) => c.category)));
}

export type TrafficRow = Omit<TrafficEntry, 'id'>;
export const AMY_ROW: TrafficRow = {
  client: '10.1.2.5', user: 'amy', group: 'ks2', method: 'GET', scheme: 'http', host: 'www.bbc.co.uk', path: '/news', categories: 'news',
  action: 'allow', ruleKind: 'default', rule: null, status: 200, up: 300, down: 5000, ms: 40, term: null, alert: null,
};

/** Writes the rows (time ISO, fields over AMY_ROW) through the real writer; returns each row's id, in order. */
export function writeTraffic(main: Database, rows: readonly (readonly [at: string, over: Partial<TrafficRow>])[]): number[] {
  const entries = rows.map(([at, over]) => ({ ...AMY_ROW, ...over, id: idAtTime(Date.parse(at)) }));
  new TrafficWriter(main, 'Europe/London').write(entries.map((e) => toTuple(e, e.id)));
  return entries.map((e) => e.id);
}
