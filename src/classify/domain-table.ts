// The domain matcher: every distinct listed name behind an open-addressing table keyed by a
// hash that is computed right to left. One pass over a request's host yields the hash of
// every label-boundary suffix (com, example.com, www.example.com), so a host with k labels
// costs k probes and no string slicing. Each probe is verified against the stored bytes: a
// hash collision can never block or allow the wrong site.
//
// Each name is stored as one record, [length][name bytes][posting count][postings], where a
// posting is the list that holds the name and the line it came from, so a match can always
// be explained. Keeping a name and its postings side by side means a hit touches one or two
// cache lines after the slot: on this machine a lookup is bound by memory latency, not by
// instructions. A random read from the table costs about 170 ns here, so a blocked Bloom
// filter (one 64-byte block a name, ~10 bits a name, small enough to stay in cache) answers
// most probes for suffixes that are not listed before the table is touched. Everything is in
// typed arrays (about 30 bytes an entry at the shared bench set's scale, bench/matcher.ts),
// which a worker can transfer without a copy.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const DOT = 46;
const LOAD = 0.5;
const POSTING_BYTES = 6;
const MAX_POSTINGS = 0xffff;
/** Postings with this list id are not domain entries: they point at a host's URL entries (line = bucket). */
export const URL_BUCKET = 0xffff;

export interface DomainTableData {
  /** Records: u8 length, name bytes, u16 posting count, then (u16 list, u32 line) postings; little-endian. */
  readonly records: Uint8Array;
  /** Record offset + 1 for each occupied slot, 0 for empty. */
  readonly slots: Uint32Array;
  /** Blocked Bloom filter over the names' hashes: 16 words (one cache line) a block. */
  readonly filter: Uint32Array;
  /** Distinct names stored. */
  readonly names: number;
}

const FILTER_BITS_PER_NAME = 10;
const FILTER_PROBES = 5;

function filterBlocks(names: number): number {
  return Math.max(1, Math.ceil((names * FILTER_BITS_PER_NAME) / 512));
}

/** Tests the name's bits in the filter, or with `add`, sets them; true when all were set. */
function filterProbe(filter: Uint32Array, h: number, add: boolean): boolean {
  const base = Math.floor((mix(h) * (filter.length >>> 4)) / 4294967296) << 4;
  const a = mix(h ^ 0x5bd1e995);
  const b = mix((h + 0x27d4eb2f) | 0) | 1;
  let all = true;
  for (let i = 0; i < FILTER_PROBES; i++) {
    const bit = (a + Math.imul(i, b)) & 511;
    const word = base + (bit >>> 5);
    const mask = 1 << (bit & 31);
    if ((filter[word]! & mask) === 0) {
      if (!add) return false;
      filter[word]! |= mask;
      all = false;
    }
  }
  return all;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Maps a hash onto [0, capacity) without a power-of-two table. */
function slotOf(h: number, capacity: number): number {
  return Math.floor((mix(h) * capacity) / 4294967296);
}

function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let j = end - 1; j >= start; j--) h = Math.imul(h ^ bytes[j]!, FNV_PRIME);
  return h >>> 0;
}

export class DomainTableBuilder {
  private names = new Uint8Array(1 << 20);
  private nameStart = new Uint32Array(1 << 16);
  private hashes = new Uint32Array(1 << 16);
  private lastList = new Uint16Array(1 << 16);
  private count = 0;
  private bytes = 0;
  private slots = new Uint32Array(1 << 17);
  private postName = new Uint32Array(1 << 16);
  private postList = new Uint16Array(1 << 16);
  private postLine = new Uint32Array(1 << 16);
  private posts = 0;

  /** Room for `len` more bytes; the caller writes the name at `scratchOffset()` then calls add. */
  reserve(len: number): Uint8Array {
    if (this.bytes + len > this.names.length) {
      const bigger = new Uint8Array(Math.max(this.names.length * 2, this.bytes + len));
      bigger.set(this.names.subarray(0, this.bytes));
      this.names = bigger;
    }
    return this.names;
  }

  scratchOffset(): number {
    return this.bytes;
  }

  /** Adds the name just written at scratchOffset() (len bytes). Returns false for a duplicate in the same list. */
  addScratch(len: number, listId: number, line: number): boolean {
    const start = this.bytes;
    const h = hashBytes(this.names, start, start + len);
    const cap = this.slots.length;
    let slot = slotOf(h, cap);
    for (;;) {
      const e = this.slots[slot]!;
      if (e === 0) break;
      const idx = e - 1;
      if (this.hashes[idx] === h && this.sameName(idx, start, len)) return this.addPosting(idx, listId, line);
      if (++slot === cap) slot = 0;
    }
    const idx = this.count++;
    if (idx + 1 >= this.nameStart.length) this.growNames();
    this.nameStart[idx] = start;
    this.nameStart[idx + 1] = start + len;
    this.hashes[idx] = h;
    this.bytes += len;
    this.slots[slot] = idx + 1;
    if (this.count > cap * LOAD) this.rehash(cap * 2);
    return this.addPosting(idx, listId, line);
  }

  /** Marks `host` as having URL entries, in bucket `bucket`; call after every list is added. */
  addUrlHost(host: string, bucket: number): void {
    this.add(host, URL_BUCKET, bucket);
  }

  add(name: string, listId: number, line: number): boolean {
    const buf = this.reserve(name.length);
    const at = this.scratchOffset();
    for (let j = 0; j < name.length; j++) buf[at + j] = name.charCodeAt(j);
    return this.addScratch(name.length, listId, line);
  }

  get size(): number {
    return this.count;
  }

  private sameName(idx: number, start: number, len: number): boolean {
    const s = this.nameStart[idx]!;
    if (this.nameStart[idx + 1]! - s !== len) return false;
    const names = this.names;
    for (let k = 0; k < len; k++) if (names[s + k] !== names[start + k]) return false;
    return true;
  }

  private addPosting(idx: number, listId: number, line: number): boolean {
    // Lists are added one after another, so a name already posted by this list is a duplicate line.
    if (listId !== URL_BUCKET) {
      if (this.lastList[idx] === listId + 1) return false;
      this.lastList[idx] = listId + 1;
    }
    if (this.posts === this.postName.length) {
      this.postName = grow32(this.postName);
      this.postLine = grow32(this.postLine);
      const l = new Uint16Array(this.postList.length * 2);
      l.set(this.postList);
      this.postList = l;
    }
    this.postName[this.posts] = idx;
    this.postList[this.posts] = listId;
    this.postLine[this.posts] = line;
    this.posts++;
    return true;
  }

  private growNames(): void {
    this.nameStart = grow32(this.nameStart);
    this.hashes = grow32(this.hashes);
    const l = new Uint16Array(this.lastList.length * 2);
    l.set(this.lastList);
    this.lastList = l;
  }

  private rehash(capacity: number): void {
    this.slots = fillSlots(this.hashes, this.count, capacity);
  }

  finish(): DomainTableData {
    const n = this.count;
    // Group postings by name (a counting sort keeps each name's postings in list order).
    const postStart = new Uint32Array(n + 1);
    for (let p = 0; p < this.posts; p++) postStart[this.postName[p]! + 1]!++;
    for (let i = 0; i < n; i++) {
      if (postStart[i + 1]! > MAX_POSTINGS) throw new RangeError('a name is in more than 65535 lists');
      postStart[i + 1]! += postStart[i]!;
    }
    const order = new Uint32Array(this.posts);
    const fill = postStart.slice(0, n);
    for (let p = 0; p < this.posts; p++) order[fill[this.postName[p]!]!++] = p;

    const records = new Uint8Array(this.bytes + n * 3 + this.posts * POSTING_BYTES);
    const offsets = new Uint32Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = at;
      const s = this.nameStart[i]!;
      const len = this.nameStart[i + 1]! - s;
      records[at++] = len;
      records.set(this.names.subarray(s, s + len), at);
      at += len;
      const count = postStart[i + 1]! - postStart[i]!;
      records[at++] = count & 0xff;
      records[at++] = count >>> 8;
      for (let q = postStart[i]!; q < postStart[i + 1]!; q++) {
        const p = order[q]!;
        const list = this.postList[p]!;
        const line = this.postLine[p]!;
        records[at++] = list & 0xff;
        records[at++] = list >>> 8;
        records[at++] = line & 0xff;
        records[at++] = (line >>> 8) & 0xff;
        records[at++] = (line >>> 16) & 0xff;
        records[at++] = line >>> 24;
      }
    }
    const slots = fillSlots(this.hashes, n, Math.max(16, Math.ceil(n / LOAD)), offsets);
    const filter = new Uint32Array(filterBlocks(n) * 16);
    for (let i = 0; i < n; i++) filterProbe(filter, this.hashes[i]!, true);
    return { records, slots, filter, names: n };
  }
}

function grow32(a: Uint32Array): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** An open-addressing table of the n hashes: slot value = (values[i] or i) + 1, 0 for empty. */
function fillSlots(hashes: Uint32Array, n: number, capacity: number, values?: Uint32Array): Uint32Array<ArrayBuffer> {
  const slots = new Uint32Array(capacity);
  for (let i = 0; i < n; i++) {
    let slot = slotOf(hashes[i]!, capacity);
    while (slots[slot] !== 0) if (++slot === capacity) slot = 0;
    slots[slot] = (values ? values[i]! : i) + 1;
  }
  return slots;
}

/** Receives each listed suffix of a host (its record and where the suffix starts), most general first. */
export type DomainHitSink = (record: number, suffixStart: number) => void;

export class DomainTable {
  constructor(readonly data: DomainTableData) {}

  get size(): number {
    return this.data.names;
  }

  /**
   * Calls `sink` for each listed name that is the host or a parent domain of it, from the
   * shortest suffix to the whole host. IP literals match only as a whole (`wholeOnly`).
   * Returns the number of hits.
   */
  lookup(host: string, wholeOnly: boolean, sink: DomainHitSink): number {
    let hits = 0;
    let h = FNV_OFFSET;
    for (let j = host.length - 1; j >= -1; j--) {
      const c = j >= 0 ? host.charCodeAt(j) : DOT;
      if (c === DOT && (j < 0 || !wholeOnly)) {
        const rec = this.find(host, j + 1, h);
        if (rec >= 0) { sink(rec, j + 1); hits++; }
      }
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    return hits;
  }

  /** True when the host or a parent domain is a domain entry of any list. */
  has(host: string, wholeOnly = false): boolean {
    let h = FNV_OFFSET;
    for (let j = host.length - 1; j >= -1; j--) {
      const c = j >= 0 ? host.charCodeAt(j) : DOT;
      if (c === DOT && (j < 0 || !wholeOnly)) {
        const rec = this.find(host, j + 1, h);
        // Bucket postings come last, so a name whose first posting is one has no domain entry.
        if (rec >= 0 && this.listAt(this.firstPosting(rec)) !== URL_BUCKET) return true;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    return false;
  }

  /** Offset of a record's first posting; postingCount(rec) of them follow, POSTING_BYTES apart. */
  firstPosting(rec: number): number {
    return rec + this.data.records[rec]! + 3;
  }

  postingCount(rec: number): number {
    const r = this.data.records;
    const at = rec + r[rec]! + 1;
    return r[at]! | (r[at + 1]! << 8);
  }

  listAt(posting: number): number {
    const r = this.data.records;
    return r[posting]! | (r[posting + 1]! << 8);
  }

  lineAt(posting: number): number {
    const r = this.data.records;
    return (r[posting + 2]! | (r[posting + 3]! << 8) | (r[posting + 4]! << 16) | (r[posting + 5]! << 24)) >>> 0;
  }

  private find(host: string, start: number, h: number): number {
    if (!filterProbe(this.data.filter, h, false)) return -1;
    const { slots, records } = this.data;
    const cap = slots.length;
    const len = host.length - start;
    let slot = slotOf(h, cap);
    for (;;) {
      const e = slots[slot]!;
      if (e === 0) return -1;
      const rec = e - 1;
      if (records[rec] === len) {
        let k = 0;
        while (k < len && records[rec + 1 + k] === host.charCodeAt(start + k)) k++;
        if (k === len) return rec;
      }
      if (++slot === cap) slot = 0;
    }
  }

  byteLength(): number {
    return this.data.records.byteLength + this.data.slots.byteLength + this.data.filter.byteLength;
  }
}

export { POSTING_BYTES };
