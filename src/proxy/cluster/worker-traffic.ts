// A proxy worker's traffic log (proxy.workers): rows are batched here and sent to the primary,
// whose one TrafficLog writes them (store/traffic-log.ts), so there is one writer of
// schoolgate.db's traffic per machine. Ids are made here, from this worker's share of them
// (TrafficIds' slot), so an alert can name its request before the row is sent.
import type { TrafficSink } from '../traffic-record.js';
import { toTuple, TrafficIds, type TrafficEntry, type TrafficTuple } from '../../store/traffic-entry.js';

/** A batch goes at this many rows, or this long after its first row: a message per request would cost more than the request. */
const BATCH_ROWS = 500;
const BATCH_MS = 50;

export class WorkerTraffic implements TrafficSink {
  private readonly ids: TrafficIds;
  private batch: TrafficTuple[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (rows: TrafficTuple[]) => void, place: { lastId: number; slot: number; of: number }, private readonly now: () => number = Date.now) {
    this.ids = new TrafficIds(place.lastId, place.slot, place.of);
  }

  reserve(): number {
    return this.ids.next(this.now());
  }

  record(entry: Omit<TrafficEntry, 'id'>, reserved?: number): number {
    const id = reserved ?? this.ids.next(this.now());
    this.batch.push(toTuple(entry, id));
    if (this.batch.length >= BATCH_ROWS) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), BATCH_MS);
    return id;
  }

  /** Sends what is batched now (and when stopping, before the worker says it has stopped). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.batch.length === 0) return;
    const rows = this.batch;
    this.batch = [];
    this.send(rows);
  }
}
