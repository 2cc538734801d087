// Lists of small numbers kept as two typed arrays rather than arrays of arrays: the compiled
// phrase engine holds hundreds of thousands of them, and one flat array costs no object each.

/** Lists of numbers as one array of them, and where each list starts (the last start is the end). */
export function flatten(lists: readonly (readonly number[])[]): [Int32Array, Int32Array] {
  const start = new Int32Array(lists.length + 1);
  let total = 0;
  lists.forEach((l, i) => {
    start[i] = total;
    total += l.length;
  });
  start[lists.length] = total;
  const all = new Int32Array(total);
  lists.forEach((l, i) => all.set(l, start[i]!));
  return [start, all];
}
