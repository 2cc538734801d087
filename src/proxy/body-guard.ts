// Request bodies are relayed as they arrive, so a client that sends its body a byte at a time
// holds an upstream connection for as long as it likes. The guard passes the body through and
// gives up on a client that stops sending (idle) or sends too slowly (rate), counting only the
// time the proxy was waiting on the client: while the upstream is not reading, the client is
// not to blame.
import { PassThrough, type Readable } from 'node:stream';

export interface BodyLimits {
  /** No byte of the body for this long ends the request. */
  readonly bodyIdleMs: number;
  /** Fewer bytes than this per second, over each idle-length window, ends the request. */
  readonly bodyMinBytesPerSecond: number;
}

/**
 * The body to hand to the upstream request. `onSlow` is called once, with the reason, when the
 * client breaks a limit; the returned stream is then destroyed, which aborts the upstream request.
 */
export function guardBody(req: Readable, limits: BodyLimits, onSlow: (reason: string) => void): Readable {
  const body = new PassThrough();
  const windowMs = limits.bodyIdleMs;
  const minPerWindow = Math.ceil((limits.bodyMinBytesPerSecond * windowMs) / 1000);
  let seen = 0;
  let atWindowStart = 0;
  // Set when the upstream made the client wait during the current window.
  let heldByUs = false;
  const fail = (reason: string): void => {
    stop();
    onSlow(reason);
    body.destroy(new Error(reason));
  };
  const idle = setTimeout(function check() {
    if (body.writableNeedDrain) return void idle.refresh();
    fail(`no part of the request body arrived for ${Math.round(windowMs / 1000)} s`);
  }, windowMs);
  const rate = setInterval(() => {
    const got = seen - atWindowStart;
    atWindowStart = seen;
    if (heldByUs || body.writableNeedDrain) {
      heldByUs = false;
      return;
    }
    if (got < minPerWindow) fail(`the request body arrived at ${Math.round(got / (windowMs / 1000))} bytes/s, below the ${limits.bodyMinBytesPerSecond} bytes/s this proxy needs`);
  }, windowMs);
  const stop = (): void => {
    clearTimeout(idle);
    clearInterval(rate);
  };
  body.on('drain', () => (heldByUs = true));
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    idle.refresh();
  });
  req.once('end', stop);
  req.once('close', stop);
  body.once('close', stop);
  req.pipe(body);
  return body;
}
