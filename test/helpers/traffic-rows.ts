// The traffic log's newest rows with their dictionary codes resolved, read from the SQLite file
// as a report would, after the writer thread has stored everything recorded so far.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { TrafficLog } from '../../src/store/traffic-log.js';

/** How long the writer may take to store what was recorded: a bound against a hang, not a measure. */
const SETTLE_MS = 60_000;

export interface TrafficRow { client: string; person: string | null; grp: string; method: string; scheme: number; host: string; path: string | null; cats: string | null; action: number; rule_kind: number; rule: string | null; status: number; up: number; down: number; ms: number; term: string | null; alert: number | null }

/** The newest `n` rows, oldest first. */
export async function lastTrafficRows(traffic: TrafficLog, dataDir: string, n: number): Promise<TrafficRow[]> {
  // settle() gives up after 5 s by default, and reading then would miss rows on a slow machine.
  if (!(await traffic.settle(SETTLE_MS))) throw new Error(`the traffic log did not store its rows within ${SETTLE_MS / 1000} s`);
  const db = new BetterSqlite3(join(dataDir, 'schoolgate.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT c.text AS client, p.text AS person, g.text AS grp, m.text AS method, t.scheme, h.text AS host, pa.text AS path,
      l.text AS cats, t.action, t.rule_kind, r.text AS rule, t.status, t.up, t.down, t.ms, te.text AS term, t.alert
      FROM traffic t JOIN clients c ON c.id = t.client LEFT JOIN people p ON p.id = t.person JOIN labels g ON g.id = t.grp
      JOIN labels m ON m.id = t.method JOIN hosts h ON h.id = t.host LEFT JOIN paths pa ON pa.id = t.path LEFT JOIN labels l ON l.id = t.cats
      LEFT JOIN labels r ON r.id = t.rule LEFT JOIN terms te ON te.id = t.term ORDER BY t.id DESC LIMIT ?`).all(n) as TrafficRow[]).reverse();
  } finally {
    db.close();
  }
}

/**
 * The first of the newest 100 rows that `match`es, once the proxy has recorded it. A request's
 * row is recorded when the proxy sees its connection close, which comes after the client's own
 * close and announces itself nowhere a test can listen: so this reads again until it is there
 * (the test's timeout is the bound).
 */
export async function loggedRow(traffic: TrafficLog, dataDir: string, match: (r: TrafficRow) => boolean): Promise<TrafficRow> {
  for (;;) {
    const row = (await lastTrafficRows(traffic, dataDir, 100)).find(match);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
}
