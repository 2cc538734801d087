// Which lines of a text were removed and which added, by longest common subsequence (as diff
// does): for asserting that a rewrite of a file touched only the lines it meant to.

export interface LineDiff {
  /** Lines of the old text not in the new, with their 1-based line numbers in the old. */
  readonly removed: readonly { readonly line: number; readonly text: string }[];
  /** Lines of the new text not in the old, with their 1-based line numbers in the new. */
  readonly added: readonly { readonly line: number; readonly text: string }[];
}

export function lineDiff(before: string, after: string): LineDiff {
  const a = before.split('\n');
  const b = after.split('\n');
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const removed: { line: number; text: string }[] = [];
  const added: { line: number; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      added.push({ line: j + 1, text: b[j]! });
      j++;
    } else {
      removed.push({ line: i + 1, text: a[i]! });
      i++;
    }
  }
  return { removed, added };
}
