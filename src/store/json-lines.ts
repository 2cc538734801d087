// Append-only files of one JSON value a line (traffic spill files, the alert journal), read back
// after a crash: a process killed mid-write leaves at most a torn last line, which is counted
// rather than trusted.

/** The lines of `text` that parse and pass `is`; the rest are counted as torn. */
export function parseJsonLines<T>(text: string, is: (v: unknown) => v is T): { values: T[]; torn: number } {
  const values: T[] = [];
  let torn = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      v = null;
    }
    if (is(v)) values.push(v);
    else torn++;
  }
  return { values, torn };
}
