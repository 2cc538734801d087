// What the proxy remembers between requests, kept alike in every proxy process (proxy.workers):
// warn click-throughs, sign-in failures and remembered sign-ins, pinned apps. Each process holds
// a copy and reads it without waiting (a request never asks another process). A change made in
// one process is sent to the primary, which applies it to its own copy and passes it on to the
// others; a new or replaced worker starts from the primary's copy, given as the changes that
// rebuild it. The copies agree within one message's time (well under a millisecond on one
// machine); two changes made at once in two processes both count, since what is sent is the
// change (one more failure), not the result (four failures).

export interface SharedMemory<Change> {
  /** Calls `fn` with each change made in this process (not with those applied from elsewhere). */
  onChange(fn: (change: Change) => void): void;
  /** A change made in another process. */
  apply(change: Change): void;
  /** Everything remembered now, as the changes that rebuild it in an empty memory. */
  changes(): Change[];
}

/** The memories by name, the same names in every process. */
export type SharedMemories = Readonly<Record<string, SharedMemory<unknown>>>;

/** What every process holds: one record of changes per memory's name. */
export type MemoryState = Record<string, unknown[]>;

export function stateOf(memories: SharedMemories): MemoryState {
  const out: MemoryState = {};
  for (const [name, m] of Object.entries(memories)) out[name] = m.changes();
  return out;
}

export function applyState(memories: SharedMemories, state: MemoryState): void {
  for (const [name, changes] of Object.entries(state)) for (const c of changes) memories[name]?.apply(c);
}

/** The listeners a memory keeps for onChange: nothing is done (or built) while nobody listens. */
export class ChangeListeners<Change> {
  private readonly fns: ((change: Change) => void)[] = [];

  add(fn: (change: Change) => void): void {
    this.fns.push(fn);
  }

  get any(): boolean {
    return this.fns.length > 0;
  }

  emit(change: Change): void {
    for (const fn of this.fns) fn(change);
  }
}
