// A dense automaton's transitions held as the few that differ from the root's row. In an
// Aho–Corasick automaton most transitions of most states lead where the root's do (to the
// state of one letter), so a dense table, states × alphabet, is mostly copies of the root's
// row. Here each state keeps only its other transitions, packed into one array of cells by
// row displacement (as a double-array trie packs its rows): state s's cell for a symbol is
// base[s] + 2 × symbol, and is s's own when its owner field says s; otherwise s goes where the
// root goes. One more load and a comparison a character, for a fraction of the memory.

export interface SparseRows {
  /** Where each symbol leads from the root, and from any state without a cell of its own for it. */
  readonly root: Uint16Array | Uint32Array;
  /** Per state, where its cells start, doubled: its cell for symbol sym is at base[s] + 2 × sym. */
  readonly base: Int32Array;
  /** Pairs: cells[c] the state owning the cell (none owns it when no state has that id), cells[c + 1] where it leads. */
  readonly cells: Uint16Array | Uint32Array;
}

/** The state after `state` reads `sym`, as the dense table had it. */
export function step(rows: SparseRows, state: number, sym: number): number {
  const c = rows.base[state]! + 2 * sym;
  return rows.cells[c] === state ? rows.cells[c + 1]! : rows.root[sym]!;
}

/**
 * `delta` (delta[state * alphabet + sym]) as sparse rows. Rows with most cells are placed first,
 * each at the lowest offset whose cells are free; cells left free by then are skipped once
 * they have been tried often, which keeps placing near-linear in the number of states.
 */
export function sparseRows(delta: ArrayLike<number>, alphabet: number, wide = false): SparseRows {
  const states = delta.length / alphabet;
  // An id no state has marks a free cell, so the owner field is as wide as `states` needs.
  const narrow = states <= 0xffff && !wide;
  const root = narrow ? new Uint16Array(alphabet) : new Uint32Array(alphabet);
  for (let sym = 0; sym < alphabet; sym++) root[sym] = delta[sym]!;
  const own: number[][] = new Array<number[]>(states);
  for (let s = 0; s < states; s++) {
    const syms: number[] = [];
    if (s > 0) for (let sym = 0; sym < alphabet; sym++) if (delta[s * alphabet + sym] !== root[sym]) syms.push(sym);
    own[s] = syms;
  }
  const order = Array.from({ length: states }, (_, s) => s).sort((a, b) => own[b]!.length - own[a]!.length || a - b);

  let owner = new Int32Array(Math.max(1024, alphabet * 4)).fill(-1);
  // skip[c] leads past cells that are taken or given up (a union-find's parents, c when c is still tried).
  let skip = new Int32Array(owner.length).map((_, c) => c);
  let tries = new Uint8Array(owner.length);
  const grow = (need: number): void => {
    if (need <= owner.length) return;
    const length = Math.max(need, owner.length * 2);
    const o = new Int32Array(length).fill(-1);
    o.set(owner);
    owner = o;
    const k = new Int32Array(length).map((_, c) => c);
    k.set(skip);
    skip = k;
    const t = new Uint8Array(length);
    t.set(tries);
    tries = t;
  };
  const tried = (c: number): number => {
    let r = c;
    while (skip[r] !== r) r = skip[r]!;
    while (skip[c] !== r) {
      const n = skip[c]!;
      skip[c] = r;
      c = n;
    }
    return r;
  };
  const base = new Int32Array(states);
  let size = 0; // cells in use end here
  for (const s of order) {
    const syms = own[s]!;
    if (syms.length === 0) continue; // base 0: it owns no cell, so every symbol goes where the root's does
    const first = syms[0]!;
    for (let f = tried(first); ; f = tried(f + 1)) {
      grow(f + alphabet + 1);
      const b = f - first;
      let fits = true;
      for (let i = 1; i < syms.length && fits; i++) fits = owner[b + syms[i]!] === -1;
      if (!fits) {
        // A free cell tried this often without fitting a row is given up as a first cell; it may still take a later symbol.
        if (++tries[f]! >= 32) skip[f] = f + 1;
        continue;
      }
      for (const sym of syms) {
        owner[b + sym] = s;
        skip[b + sym] = b + sym + 1;
      }
      base[s] = b;
      size = Math.max(size, b + syms[syms.length - 1]! + 1);
      break;
    }
  }
  // Every state's base + every symbol stays inside the array, so no lookup needs a bound check.
  let top = size;
  for (let s = 0; s < states; s++) top = Math.max(top, base[s]! + alphabet);
  const cells = narrow ? new Uint16Array(2 * top) : new Uint32Array(2 * top);
  const none = narrow ? 0xffff : 0xffffffff;
  for (let c = 0; c < top; c++) {
    const s = c < owner.length ? owner[c]! : -1;
    if (s === -1) cells[2 * c] = none;
    else {
      cells[2 * c] = s;
      cells[2 * c + 1] = delta[s * alphabet + (c - base[s]!)]!;
    }
  }
  for (let s = 0; s < states; s++) base[s] = 2 * base[s]!;
  return { root, base, cells };
}
