// A real pino logger whose lines the test can await, as test/helpers/cli.ts awaits a spawned
// command's output: for parts that announce what they did only in the log.
import pino, { type Logger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RecordingLogger {
  readonly log: Logger;
  /** Every line so far, parsed. */
  readonly lines: LogLine[];
  /** Resolves with the first line (from index `after` on) whose message matches. */
  waitFor(re: RegExp, after?: number): Promise<LogLine>;
}

export function recordingLogger(level = 'info'): RecordingLogger {
  const lines: LogLine[] = [];
  const waiters: { re: RegExp; after: number; resolve: (line: LogLine) => void }[] = [];
  const log = pino({ level }, {
    write(text: string): void {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const w of [...waiters]) {
        if (lines.length - 1 >= w.after && w.re.test(line.msg)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    },
  });
  return {
    log, lines,
    waitFor: (re, after = 0) => new Promise((resolve) => {
      const seen = lines.slice(after).find((l) => re.test(l.msg));
      if (seen) return resolve(seen);
      waiters.push({ re, after, resolve });
    }),
  };
}
