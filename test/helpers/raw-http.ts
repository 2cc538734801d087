// HTTP over a bare TCP socket, for what node:http will not send: malformed request lines,
// conflicting lengths, bare LF line endings, and clients that leave half-way through.
import net from 'node:net';

export interface RawReply {
  /** Everything the server sent (latin1, byte for byte). */
  readonly text: string;
  /** True when the server closed the connection; false when the deadline came first. */
  readonly closed: boolean;
}

/** A raw connection to 127.0.0.1:port (errors such as ECONNRESET are swallowed: the tests look at what arrived). */
export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Collects what arrives on `socket` until the server closes it, or `deadlineMs` passes (then it is destroyed). */
export function readUntilClose(socket: net.Socket, deadlineMs = 10_000): Promise<RawReply> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.off('close', onClose);
      socket.destroy();
      resolve({ text, closed: false });
    }, deadlineMs);
    const onClose = (): void => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    };
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.once('close', onClose);
    if (socket.destroyed) onClose();
  });
}

/** Connects, writes `request` and collects the reply until the server closes the connection. */
export async function rawRequest(port: number, request: string | Buffer, deadlineMs = 10_000): Promise<RawReply> {
  const socket = await connectRaw(port);
  const reply = readUntilClose(socket, deadlineMs);
  socket.write(request);
  return reply;
}

/** Reads one response head (through the blank line) and leaves whatever follows unread on the socket. */
export function readHead(socket: net.Socket, deadlineMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (err: Error | null, head = ''): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(head);
    };
    const timer = setTimeout(() => done(new Error(`no response head within ${deadlineMs} ms`)), deadlineMs);
    const onClose = (): void => done(new Error(`closed before a response head: ${JSON.stringify(got.toString('latin1'))}`));
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.pause();
      const rest = got.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      done(null, got.subarray(0, end + 4).toString('latin1'));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

export interface ParsedReply {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  /** The body, de-chunked when the reply was chunked. */
  readonly body: string;
}

/** Parses the first response in `text` (status line, headers, body). Throws on anything that is not one. */
export function parseReply(text: string): ParsedReply {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  let body = text.slice(end + 4);
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') body = dechunk(body);
  else if (headers.has('content-length')) body = body.slice(0, Number(headers.get('content-length')));
  return { status: Number(m[1]), headers, body };
}

/**
 * RFC 9112 7.1 framing, strictly: a size line is hex digits (and any extension after ';'), and
 * each chunk's data is followed by CRLF. Anything else throws; parseInt alone read "-ff" as a
 * negative size and looped for ever (found by raw-http.property.test.ts).
 */
function dechunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) throw new Error('truncated chunked body');
    const line = raw.slice(at, eol);
    const digits = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line);
    if (!digits) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
    const size = parseInt(digits[1]!, 16);
    if (size === 0) return out;
    const end = eol + 2 + size;
    if (end + 2 > raw.length) throw new Error('truncated chunked body');
    if (raw.slice(end, end + 2) !== '\r\n') throw new Error(`chunk of ${size} bytes is not followed by CRLF`);
    out += raw.slice(eol + 2, end);
    at = end + 2;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago, and nothing here reuses it). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Polls `check` every `stepMs` until it is true or `maxMs` passes; returns its last value. Only
 * for a condition nothing announces (another process's state, a socket count): await an event
 * where there is one. The bound is a minute so that a slow, shared machine only ever makes a
 * passing test slower; it is there to fail a test that would hang, never to measure time.
 */
export async function eventually(check: () => boolean | Promise<boolean>, maxMs = 60_000, stepMs = 25): Promise<boolean> {
  const end = Date.now() + maxMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
