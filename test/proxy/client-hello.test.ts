// The ClientHello peek decides which host a CONNECT tunnel is classified by, so it must give
// the real client's SNI, never a wrong one, on any bytes a client (or an evasion tool, or
// noise) can send. Real hellos are captured from node:tls on a loopback socket; the odd and
// broken ones are built by hand, byte by byte, so each row shows exactly what it tests.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HELLO_BYTES, MAX_HELLO_MESSAGE_BYTES, parseClientHello, type HelloResult } from '../../src/proxy/client-hello.js';

// ---------------------------------------------------------------- byte builders

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const vec8 = (bytes: number[]): number[] => [bytes.length, ...bytes];
const vec16 = (bytes: number[]): number[] => [...u16(bytes.length), ...bytes];
const ext = (type: number, data: number[] = []): number[] => [...u16(type), ...vec16(data)];
const hostEntry = (name: string, type = 0): number[] => [type, ...vec16(ascii(name))];
const sniExt = (...names: string[]): number[] => ext(0, vec16(names.flatMap((n) => hostEntry(n))));
const alpnExt = (...protocols: string[]): number[] => ext(16, vec16(protocols.flatMap((p) => vec8(ascii(p)))));
const GREASE_EMPTY = ext(0x0a0a);
const GREASE_ONE = ext(0xfafa, [0]);
const RANDOM = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

interface Parts {
  readonly version?: number;
  readonly sessionId?: number[];
  readonly suites?: number[];
  readonly compression?: number[];
  /** null: no extensions block at all, as SSL 3.0 and TLS 1.0 clients may send. */
  readonly extensions?: number[][] | null;
  /** Overrides the extensions block's length field, to make it lie. */
  readonly extensionsLength?: number;
  /** Raw bytes appended after the extensions block. */
  readonly trailer?: number[];
}

function body(p: Parts = {}): number[] {
  const exts = p.extensions === null ? null : (p.extensions ?? [sniExt('www.example.com'), alpnExt('h2', 'http/1.1')]).flat();
  return [
    ...u16(p.version ?? 0x0303),
    ...RANDOM,
    ...vec8(p.sessionId ?? RANDOM),
    ...vec16((p.suites ?? [0x1301, 0x1302, 0xc02f]).flatMap(u16)),
    ...vec8(p.compression ?? [0]),
    ...(exts === null ? [] : [...u16(p.extensionsLength ?? exts.length), ...exts]),
    ...(p.trailer ?? []),
  ];
}

const message = (b: number[], type = 1): number[] => [type, ...u24(b.length), ...b];

/** Frames a handshake message into records, cut at the given message offsets. */
function records(msg: ArrayLike<number>, cuts: readonly number[] = [], version = 0x0301): Uint8Array {
  const bounds = [0, ...cuts, msg.length];
  const out = new Uint8Array(msg.length + 5 * (bounds.length - 1));
  let at = 0;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i]!;
    const to = bounds[i + 1]!;
    out.set([22, ...u16(version), ...u16(to - from)], at);
    at += 5;
    for (let j = from; j < to; j++) out[at++] = msg[j]!;
  }
  return out;
}

const hello = (p: Parts = {}, cuts: readonly number[] = []): Uint8Array => records(message(body(p)), cuts);
const bytes = (...parts: (number[] | Uint8Array)[]): Uint8Array => Uint8Array.from(parts.flatMap((x) => Array.from(x)));
/** Cuts every `size` bytes: the record-layer fragmentation some evasion tools do. */
const every = (size: number, length: number): number[] => Array.from({ length: Math.ceil(length / size) - 1 }, (_, i) => (i + 1) * size);

// ---------------------------------------------------------------- invariants

const HOST = /^(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;

/**
 * What must hold for any answer on any input, whatever the input was. Plain checks rather
 * than expect(): this runs on every prefix of thousands of inputs.
 */
function checkShape(data: Uint8Array, r: HelloResult): void {
  let ok: boolean;
  switch (r.kind) {
    case 'need-more':
      ok = Number.isInteger(r.need) && r.need >= 1 && data.length + r.need <= MAX_HELLO_BYTES;
      break;
    case 'hello':
      ok = (r.sni === null || (HOST.test(r.sni) && r.sni.length <= 253)) && r.bytes <= Math.min(data.length, MAX_HELLO_BYTES);
      break;
    default:
      ok = r.reason.length > 0;
  }
  if (!ok) throw new Error(`bad answer ${JSON.stringify(r)} for ${data.length} bytes`);
}

/**
 * A final answer on a prefix must hold for the whole stream: the proxy stops reading at the
 * first one. (A `hello` must match exactly; the others by kind.)
 */
function checkPrefixes(data: Uint8Array, step = 1): void {
  const whole = parseClientHello(data);
  for (let k = 0; k < data.length; k += step) {
    const prefix = data.subarray(0, k);
    const r = parseClientHello(prefix);
    checkShape(prefix, r);
    if (r.kind === 'need-more') continue;
    // Cheap comparison first; expect() only to report a difference.
    if (r.kind !== whole.kind || (r.kind === 'hello' && JSON.stringify(r) !== JSON.stringify(whole))) {
      expect(r, `prefix of ${k} bytes`).toEqual(whole);
    }
  }
}

/** On a prefix of a good hello the only right answer is `need-more`, never asking past its end. */
function checkHonestNeed(data: Uint8Array): void {
  for (let k = 0; k < data.length; k++) {
    const r = parseClientHello(data.subarray(0, k));
    if (r.kind !== 'need-more' || r.need < 1 || k + r.need > data.length) throw new Error(`prefix of ${k} bytes: ${JSON.stringify(r)}`);
  }
}

// ---------------------------------------------------------------- real hellos

/** Starts a server that keeps the client's first TLS record and hangs up, and connects to it. */
async function captureHello(options: Omit<tls.ConnectionOptions, 'host' | 'port'>): Promise<Uint8Array> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const first = new Promise<Uint8Array>((resolve, reject) => {
      server.once('connection', (socket) => {
        let got = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          // Stop at the end of the first record by its header alone, not by the parser under
          // test, so a parser bug cannot shape its own input. node sends its hello in one record.
          if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
            socket.destroy();
            resolve(new Uint8Array(got));
          }
        });
        socket.on('error', reject);
        socket.on('end', () => reject(new Error('client closed before sending a whole record')));
      });
    });
    const client = tls.connect({ host: '127.0.0.1', port, ...options });
    client.on('error', () => {}); // expected: the server hangs up mid-handshake
    try {
      return await first;
    } finally {
      client.destroy();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const LONG_NAME = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(57), 'com'].join('.');
const BOTH = ['h2', 'http/1.1'];

interface RealCase {
  readonly name: string;
  readonly options: Omit<tls.ConnectionOptions, 'host' | 'port'>;
  readonly sni: string | null;
  readonly alpn: readonly string[];
}

const REAL: readonly RealCase[] = [
  { name: 'servername and ALPN', options: { servername: 'www.example.com', ALPNProtocols: BOTH }, sni: 'www.example.com', alpn: BOTH },
  // node sends no SNI for an IP host without a servername
  { name: 'no servername', options: { ALPNProtocols: BOTH }, sni: null, alpn: BOTH },
  { name: 'IDN in punycode', options: { servername: 'xn--bcher-kva.example', ALPNProtocols: BOTH }, sni: 'xn--bcher-kva.example', alpn: BOTH },
  // node passes case and a trailing dot through as given; the parser folds them
  { name: 'upper case and a trailing dot', options: { servername: 'WWW.Example.COM.', ALPNProtocols: BOTH }, sni: 'www.example.com', alpn: BOTH },
  { name: 'a 253-byte name', options: { servername: LONG_NAME, ALPNProtocols: BOTH }, sni: LONG_NAME, alpn: BOTH },
  { name: 'TLS 1.2 at most', options: { servername: 'www.example.com', ALPNProtocols: BOTH, maxVersion: 'TLSv1.2' }, sni: 'www.example.com', alpn: BOTH },
  { name: 'no ALPN', options: { servername: 'www.example.com' }, sni: 'www.example.com', alpn: [] },
];

const captured = new Map<string, Uint8Array>();

beforeAll(async () => {
  expect(LONG_NAME.length).toBe(253);
  for (const c of REAL) captured.set(c.name, await captureHello(c.options));
});

afterAll(() => captured.clear());

function real(name: string): Uint8Array {
  const h = captured.get(name);
  if (h === undefined) throw new Error(`no hello captured for ${name}`);
  return h;
}

/** Where the real SNI extension lies in a captured hello, found by its bytes. */
function sniRange(data: Uint8Array, c: RealCase): [number, number] {
  if (c.options.servername === undefined) return [0, 0];
  const needle = Buffer.from(sniExt(c.options.servername));
  const at = Buffer.from(data).indexOf(needle);
  expect(at).toBeGreaterThan(0);
  return [at, at + needle.length];
}

describe('real ClientHellos from node:tls', () => {
  it.each(REAL)('$name', (c) => {
    const data = real(c.name);
    expect(parseClientHello(data)).toEqual({ kind: 'hello', sni: c.sni, alpn: c.alpn, legacyVersion: 0x0303, bytes: data.length });
  });

  it.each(REAL)('$name: every TCP-read prefix is need-more, never asking past the end', (c) => {
    checkHonestNeed(real(c.name));
  });

  it.each(REAL)('$name: bytes after the hello (CCS, early data) are not part of it', (c) => {
    const data = real(c.name);
    const after = bytes(data, [20, 3, 3, 0, 1, 1], [23, 3, 3, 0, 2, 0xab, 0xcd]);
    expect(parseClientHello(after)).toMatchObject({ kind: 'hello', sni: c.sni, bytes: data.length });
  });

  // Record-layer fragmentation of a real hello: cut inside the handshake header, inside the
  // SNI host name, and into records as small as one byte.
  const FRAMINGS: readonly [string, (msg: Uint8Array, sni: number) => number[]][] = [
    ['two records, cut mid host name', (_, sni) => [sni + 12]],
    ['two records, cut after the handshake type', () => [1]],
    ['three records, cut in the handshake header and mid host name', (_, sni) => [2, sni + 10]],
    ['three records, cut at the SNI extension edges', (_, sni) => [sni - 5, sni + 4]],
    ['one-byte records', (msg) => every(1, msg.length)],
    ['seven-byte records', (msg) => every(7, msg.length)],
  ];

  it.each(REAL.flatMap((c) => FRAMINGS.map(([how, cuts]) => ({ c, how, cuts }))))('$c.name: $how', ({ c, cuts }) => {
    const original = real(c.name);
    const msg = original.subarray(5);
    const [start] = sniRange(original, c);
    const sni = Math.max(start - 5, 20); // message offset of the SNI extension (or somewhere early)
    const framed = records(msg, cuts(msg, sni), 0x0303);
    expect(parseClientHello(framed)).toEqual({ kind: 'hello', sni: c.sni, alpn: c.alpn, legacyVersion: 0x0303, bytes: framed.length });
    checkHonestNeed(framed);
  });

  // Every single-byte corruption: never an exception, and never a different SNI unless the
  // corrupted byte was inside the SNI extension itself. Bytes elsewhere (the random, cipher
  // suites, key shares) may change freely and the SNI must stay what it was.
  it.each(REAL)('$name: every single-byte corruption', (c) => {
    const data = real(c.name);
    const [from, to] = sniRange(data, c);
    const kinds = new Map<string, number>();
    for (let i = 0; i < data.length; i++) {
      for (const corrupt of [(x: number) => x ^ 0x01, (x: number) => x ^ 0x80, (x: number) => x ^ 0xff, () => 0, () => 0x2e]) {
        const bad = data.slice();
        bad[i] = corrupt(data[i]!);
        if (bad[i] === data[i]) continue;
        const r = parseClientHello(bad);
        checkShape(bad, r);
        kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
        if (r.kind === 'hello' && r.sni !== c.sni && !(i >= from && i < to)) {
          throw new Error(`byte ${i} (outside the SNI extension) changed the SNI to ${r.sni}`);
        }
      }
    }
    // Corrupting the random or a key share leaves a good hello: the parser did not get stricter than TLS.
    expect(kinds.get('hello') ?? 0).toBeGreaterThan(100);
    expect(kinds.get('malformed') ?? 0).toBeGreaterThan(10);
  });
});

// ---------------------------------------------------------------- hand-built good hellos

const WWW = 'www.example.com';

const GOOD: readonly { name: string; data: Uint8Array; sni: string | null; alpn?: readonly string[]; legacyVersion?: number }[] = [
  { name: 'SNI and ALPN', data: hello(), sni: WWW, alpn: BOTH },
  { name: 'no extensions block (SSL 3.0 style)', data: records(message(body({ version: 0x0300, extensions: null })), [], 0x0300), sni: null, alpn: [], legacyVersion: 0x0300 },
  { name: 'TLS 1.0 hello, empty extensions block', data: hello({ version: 0x0301, extensions: [] }), sni: null, alpn: [], legacyVersion: 0x0301 },
  { name: 'no session id', data: hello({ sessionId: [] }), sni: WWW },
  { name: 'upper case folded', data: hello({ extensions: [sniExt('WWW.EXAMPLE.Com')] }), sni: WWW, alpn: [] },
  { name: 'trailing dot dropped', data: hello({ extensions: [sniExt('www.example.com.')] }), sni: WWW, alpn: [] },
  { name: 'GREASE extensions around SNI', data: hello({ extensions: [GREASE_EMPTY, sniExt(WWW), GREASE_ONE, alpnExt('h2')] }), sni: WWW, alpn: ['h2'] },
  { name: 'GREASE cipher suites', data: hello({ suites: [0x0a0a, 0x1301, 0xdada] }), sni: WWW },
  { name: 'GREASE ALPN protocol kept as sent', data: hello({ extensions: [alpnExt('\x1a\x1a', 'h2'), sniExt(WWW)] }), sni: WWW, alpn: ['\x1a\x1a', 'h2'] },
  {
    name: 'unknown extensions skipped (ECH outer, ALPS, renegotiation_info, padding)',
    data: hello({ extensions: [ext(0xfe0d, [1, 2, 3, 4, 5]), ext(0x4469, vec16(vec8(ascii('h2')))), ext(0xff01, [0]), sniExt(WWW), ext(21, new Array<number>(300).fill(0))] }),
    sni: WWW,
    alpn: [],
  },
  { name: 'an extension whose content looks like SNI but is not type 0', data: hello({ extensions: [ext(0x0100, vec16(hostEntry('evil.example'))), sniExt(WWW)] }), sni: WWW, alpn: [] },
  { name: 'SNI last, after ALPN', data: hello({ extensions: [alpnExt('http/1.1'), sniExt('Last.Example')] }), sni: 'last.example', alpn: ['http/1.1'] },
  { name: 'underscore and hyphens (real hosts use them)', data: hello({ extensions: [sniExt('my_site-1.example-host.com')] }), sni: 'my_site-1.example-host.com', alpn: [] },
  { name: 'single label', data: hello({ extensions: [sniExt('localhost')] }), sni: 'localhost', alpn: [] },
  { name: 'numeric label not last', data: hello({ extensions: [sniExt('123.example.com')] }), sni: '123.example.com', alpn: [] },
  { name: 'last label hex-looking but not a number', data: hello({ extensions: [sniExt('example.0xg')] }), sni: 'example.0xg', alpn: [] },
  { name: 'last label mixes digits and letters', data: hello({ extensions: [sniExt('example.1a')] }), sni: 'example.1a', alpn: [] },
  { name: 'punycode IDN', data: hello({ extensions: [sniExt('XN--BCHER-KVA.example')] }), sni: 'xn--bcher-kva.example', alpn: [] },
  { name: '253-byte name', data: hello({ extensions: [sniExt(LONG_NAME)] }), sni: LONG_NAME, alpn: [] },
  { name: '253 bytes plus a trailing dot', data: hello({ extensions: [sniExt(`${LONG_NAME}.`)] }), sni: LONG_NAME, alpn: [] },
  { name: 'first record version 3.3 (TLS 1.3 compatibility)', data: records(message(body()), [], 0x0303), sni: WWW },
  { name: 'record versions that differ between fragments', data: bytes(records(message(body()).slice(0, 50), [], 0x0301), records(message(body()).slice(50), [], 0x0303)), sni: WWW },
  { name: 'two records', data: hello({}, [100]), sni: WWW },
  { name: 'three records', data: hello({}, [3, 90]), sni: WWW },
  { name: 'one record per byte', data: hello({}, every(1, message(body()).length)), sni: WWW },
  { name: 'two-byte records', data: hello({}, every(2, message(body()).length)), sni: WWW },
  { name: 'record cut inside every field in turn', data: hello({}, [1, 4, 6, 38, 39, 72, 80, 82, 84, 90, 100, 110]), sni: WWW },
];

describe('hand-built hellos', () => {
  it.each(GOOD)('$name', (row) => {
    expect(parseClientHello(row.data)).toEqual({
      kind: 'hello',
      sni: row.sni,
      alpn: row.alpn ?? BOTH,
      legacyVersion: row.legacyVersion ?? 0x0303,
      bytes: row.data.length,
    });
  });

  it.each(GOOD)('$name: every prefix is need-more, never asking past the end', (row) => {
    checkHonestNeed(row.data);
  });
});

// ---------------------------------------------------------------- not TLS

const NOT_TLS: readonly [string, Uint8Array][] = [
  ['plain HTTP', Uint8Array.from(ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'))],
  ['one byte of plain HTTP is enough', Uint8Array.from(ascii('G'))],
  ['a nested CONNECT', Uint8Array.from(ascii('CONNECT example.com:443 HTTP/1.1\r\n\r\n'))],
  ['HTTP/2 prior knowledge', Uint8Array.from(ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))],
  ['an SSH banner', Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.6\r\n'))],
  ['SSLv2-format ClientHello (not supported, said so)', Uint8Array.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10])],
  ['TLS alert record', Uint8Array.from([21, 3, 3, 0, 2, 2, 40])],
  ['TLS application data record', Uint8Array.from([23, 3, 3, 0, 3, 1, 2, 3])],
  ['TLS ChangeCipherSpec record', Uint8Array.from([20, 3, 1, 0, 1, 1])],
  ['handshake type with version 2.0', Uint8Array.from([22, 2, 0, 0, 4])],
  ['handshake type with version 3.5', Uint8Array.from([22, 3, 5])],
  ['DTLS record', Uint8Array.from([22, 0xfe, 0xfd, 0, 0])],
  ['a zero byte', Uint8Array.from([0])],
  ['BitTorrent handshake', Uint8Array.from([19, ...ascii('BitTorrent protocol')])],
];

describe('not TLS', () => {
  it.each(NOT_TLS)('%s', (_, data) => {
    expect(parseClientHello(data).kind).toBe('not-tls');
    checkPrefixes(data);
  });
});

// ---------------------------------------------------------------- malformed

const good = message(body());
/** A ClientHello message (handshake header included) from its parts. */
const msgOf = (p: Parts): number[] => message(body(p));

// Broken record framing: these rows are whole byte streams.
const MALFORMED_RECORDS: readonly [string, Uint8Array][] = [
  ['a ServerHello, not a ClientHello', records(message(body(), 2))],
  ['a Finished-type message', records(message(body(), 20))],
  ['an empty handshake record', bytes([22, 3, 1, 0, 0], records(good))],
  ['a record longer than 2^14', Uint8Array.from([22, 3, 1, 0x40, 0x01, 1])],
  ['an alert record between fragments', bytes(records(good.slice(0, 60)), [21, 3, 3, 0, 2, 1, 0], records(good.slice(60)))],
  ['application data between fragments', bytes(records(good.slice(0, 60)), [23, 3, 3, 0, 1, 0], records(good.slice(60)))],
  ['a later record with version 2.x', bytes(records(good.slice(0, 60)), [22, 2, 0, ...u16(good.length - 60)], good.slice(60))],
  ['bytes after the ClientHello in its record', records([...good, 0])],
  ['a second handshake message in the hello record', records([...good, ...message([0, 0], 11)])],
  ['a hello declared longer than 16 KiB', Uint8Array.from([22, 3, 1, 0, 4, 1, ...u24(MAX_HELLO_MESSAGE_BYTES - 3)])],
  ['a hello too short to be one', records(message(body().slice(0, 30)))],
];

const NOT_NAMES: readonly [string, string][] = [
  ['an empty host name', ''],
  ['a lone dot', '.'],
  ['two trailing dots', 'www.example.com..'],
  ['a leading dot', '.example.com'],
  ['an empty label', 'www..example.com'],
  ['a space', 'www.exa mple.com'],
  ['a NUL byte (C string truncation)', 'www.example.com\x00.evil.example'],
  ['a slash', 'example.com/evil'],
  ['a colon and port', 'example.com:443'],
  ['a percent escape', 'ex%61mple.com'],
  ['a wildcard', '*.example.com'],
  ['userinfo', 'user@example.com'],
  ['a backslash', 'example.com\\evil'],
  ['raw UTF-8 (not punycode)', 'b\xc3\xbccher.example'],
  ['a DEL byte', 'example\x7f.com'],
  ['a 64-byte label', `${'a'.repeat(64)}.example.com`],
  ['254 bytes', ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(58), 'com'].join('.')],
  ['an IPv4 address', '127.0.0.1'],
  ['an IPv4 address with a trailing dot', '10.0.0.1.'],
  ['an IPv4 number in hex', '0x7f000001'],
  ['a short IPv4 form', '0x7F.1'],
  ['a name ending in a number', 'example.123'],
  ['an IPv6 literal', '[::1]'],
  ['a bare IPv6 address', '2001:db8::1'],
];

// A broken hello inside good framing: each row is a handshake message, framed by the tests
// both as one record and as one-byte records, so fragmentation cannot hide a fault.
const MALFORMED_MESSAGES: readonly [string, number[]][] = [
  ['legacy_version 2.0', msgOf({ version: 0x0200 })],
  ['session id of 33 bytes', msgOf({ sessionId: new Array<number>(33).fill(1) })],
  ['odd cipher_suites length', message([...body().slice(0, 67), 0, 3, 0x13, 0x01, 0x13, 1, 0])],
  ['no cipher suites', msgOf({ suites: [] })],
  ['cipher_suites overruns the hello', message([...body().slice(0, 67), 0xff, 0xfe, 0x13, 0x01])],
  ['no compression methods', msgOf({ compression: [] })],
  ['compression methods overrun the hello', message([...body().slice(0, 75), 9, 0])],
  ['extensions length overruns the hello', msgOf({ extensionsLength: 500 })],
  ['bytes after the extensions', msgOf({ extensionsLength: 4, extensions: [GREASE_EMPTY, sniExt(WWW)] })],
  ['a stray byte where the extensions would be', msgOf({ extensions: null, trailer: [0] })],
  ['trailing bytes after the extensions block', msgOf({ trailer: [0, 0, 0, 0] })],
  ['an extension that overruns the block', msgOf({ extensions: [[0xff, 0x01, 0x00, 0x09, 0]] })],
  ['a truncated extension header', msgOf({ extensions: [[0x00, 0x0a, 0x00]] })],
  // server_name
  ['an empty server_name extension', msgOf({ extensions: [ext(0)] })],
  ['an empty server_name list', msgOf({ extensions: [ext(0, [0, 0])] })],
  ['server_name list longer than its extension', msgOf({ extensions: [ext(0, [...u16(19), ...hostEntry(WWW)])] })],
  ['server_name list shorter than its extension', msgOf({ extensions: [ext(0, [...u16(17), ...hostEntry(WWW)])] })],
  ['a host_name longer than its list', msgOf({ extensions: [ext(0, vec16([0, ...u16(40), ...ascii(WWW)]))] })],
  ['a cut-off server_name entry', msgOf({ extensions: [ext(0, vec16([0, 0]))] })],
  ['two host_names', msgOf({ extensions: [sniExt(WWW, 'evil.example')] })],
  ['the same host_name twice', msgOf({ extensions: [sniExt(WWW, WWW)] })],
  ['a host_name then an unknown name type', msgOf({ extensions: [ext(0, vec16([...hostEntry(WWW), ...hostEntry('evil.example', 1)]))] })],
  ['only an unknown name type', msgOf({ extensions: [ext(0, vec16(hostEntry('evil.example', 1)))] })],
  ['two server_name extensions', msgOf({ extensions: [sniExt(WWW), GREASE_EMPTY, sniExt('evil.example')] })],
  ['two identical server_name extensions', msgOf({ extensions: [sniExt(WWW), sniExt(WWW)] })],
  ...NOT_NAMES.map(([name, host]): [string, number[]] => [`SNI with ${name}`, msgOf({ extensions: [sniExt(host)] })]),
  // ALPN
  ['an empty ALPN extension', msgOf({ extensions: [ext(16)] })],
  ['an empty ALPN list', msgOf({ extensions: [ext(16, [0, 0])] })],
  ['an empty ALPN protocol name', msgOf({ extensions: [ext(16, vec16([2, ...ascii('h2'), 0]))] })],
  ['an ALPN name that overruns its list', msgOf({ extensions: [ext(16, vec16([9, ...ascii('h2')]))] })],
  ['ALPN list length not matching its extension', msgOf({ extensions: [ext(16, [0, 9, 2, ...ascii('h2')])] })],
  ['two ALPN extensions', msgOf({ extensions: [alpnExt('h2'), sniExt(WWW), alpnExt('http/1.1')] })],
];

describe('malformed hellos', () => {
  it.each(MALFORMED_RECORDS)('%s', (_, data) => {
    const r = parseClientHello(data);
    expect(r.kind, JSON.stringify(r)).toBe('malformed');
    checkPrefixes(data);
  });

  it.each(MALFORMED_MESSAGES)('%s', (_, msg) => {
    for (const framed of [records(msg), records(msg, [7, 70]), records(msg, every(1, msg.length))]) {
      const r = parseClientHello(framed);
      expect(r.kind, JSON.stringify(r)).toBe('malformed');
      checkPrefixes(framed);
    }
  });
});

// ---------------------------------------------------------------- caps and early verdicts

describe('size caps', () => {
  const padded = (messageLength: number): number[] => {
    const base = body({ extensions: [sniExt(WWW)] });
    const extra = messageLength - 4 - base.length - 4; // room left for the padding extension's data
    return message(body({ extensions: [sniExt(WWW), ext(21, new Array<number>(extra).fill(0))] }));
  };

  it('accepts a hello of exactly the message cap', () => {
    const msg = padded(MAX_HELLO_MESSAGE_BYTES);
    expect(msg.length).toBe(MAX_HELLO_MESSAGE_BYTES);
    expect(parseClientHello(records(msg))).toMatchObject({ kind: 'hello', sni: WWW });
    expect(parseClientHello(records(msg, every(5000, msg.length)))).toMatchObject({ kind: 'hello', sni: WWW });
  });

  it('refuses one byte more, as soon as the handshake header shows it', () => {
    const data = records(padded(MAX_HELLO_MESSAGE_BYTES + 1), [9000]);
    expect(parseClientHello(data).kind).toBe('malformed');
    expect(parseClientHello(data.subarray(0, 9)).kind).toBe('malformed');
  });

  it('takes a realistic hello in one-byte records, but not a 16 KiB one', () => {
    const small = padded(4000);
    expect(parseClientHello(records(small, every(1, small.length)))).toMatchObject({ kind: 'hello', sni: WWW });
    const big = padded(MAX_HELLO_MESSAGE_BYTES);
    const framed = records(big, every(1, big.length));
    expect(parseClientHello(framed).kind).toBe('malformed');
    // The verdict comes before the cap is passed, so the caller never buffers more than it.
    expect(parseClientHello(framed.subarray(0, MAX_HELLO_BYTES)).kind).toBe('malformed');
  });

  it('gives up on a declared length that can never arrive, instead of waiting for it', () => {
    // Declares a 1000-byte body but its session id length is already impossible.
    const data = Uint8Array.from([22, 3, 1, ...u16(1004), 1, ...u24(1000), 3, 3, ...RANDOM, 200]);
    expect(parseClientHello(data).kind).toBe('malformed');
  });
});

// ---------------------------------------------------------------- seeded random input

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('seeded random input never throws and never lies', () => {
  const rand = rng(0x5c001);
  const int = (n: number): number => Math.floor(rand() * n);
  const randomBytes = (n: number): number[] => Array.from({ length: n }, () => int(256));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const LABEL = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  const randomHost = (): string =>
    Array.from({ length: 1 + int(4) }, () => Array.from({ length: 1 + int(12) }, () => LABEL[int(LABEL.length)]).join('')).join('.') + '.example';

  it('3000 strings of random bytes', () => {
    for (let i = 0; i < 3000; i++) {
      const data = Uint8Array.from(randomBytes(int(300)));
      checkShape(data, parseClientHello(data));
    }
  });

  it('3000 random bodies behind a plausible record and handshake header', () => {
    for (let i = 0; i < 3000; i++) {
      const b = randomBytes(int(400));
      const framed = records(message(b), int(3) === 0 ? every(1 + int(40), b.length + 4) : []);
      checkPrefixes(framed, 7);
    }
  });

  // Generated hellos with random extensions in random order, framed at random: the answer must
  // be exactly the SNI and ALPN that were put in. Then each is mutated and truncated at random:
  // never an exception, and every final answer on a prefix holds for the whole.
  it('2000 generated hellos, exact answers, then mutated', () => {
    for (let i = 0; i < 2000; i++) {
      const host = int(5) === 0 ? null : randomHost();
      const alpn = Array.from({ length: int(3) }, () => pick(['h2', 'http/1.1', 'h3', 'spdy/3.1']));
      const extensions: number[][] = Array.from({ length: int(6) }, () => ext(pick([0x0a0a, 0x1a1a, 5, 10, 11, 13, 43, 45, 51, 0xfe0d, 0xff01]), randomBytes(int(60))));
      if (host !== null) extensions.splice(int(extensions.length + 1), 0, sniExt(host));
      if (alpn.length > 0) extensions.splice(int(extensions.length + 1), 0, alpnExt(...alpn));
      const msg = message(body({ extensions, sessionId: randomBytes(int(33)), suites: Array.from({ length: 1 + int(20) }, () => int(65536)) }));
      const cuts = [...new Set(Array.from({ length: int(4) }, () => 1 + int(msg.length - 1)))].sort((a, b) => a - b);
      const framed = records(msg, cuts, pick([0x0301, 0x0303]));
      expect(parseClientHello(framed)).toEqual({ kind: 'hello', sni: host?.toLowerCase() ?? null, alpn, legacyVersion: 0x0303, bytes: framed.length });

      const mutated = framed.slice(0, framed.length - (int(4) === 0 ? int(framed.length) : 0));
      for (let m = 1 + int(3); m > 0 && mutated.length > 0; m--) mutated[int(mutated.length)] = int(256);
      checkPrefixes(mutated, 1 + int(11));
    }
  });
});
