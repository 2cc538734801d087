// ClientHello peek. Before a CONNECT tunnel is dialled the proxy reads the client's first
// bytes and needs two facts from them: is this TLS at all, and which host (SNI) and protocols
// (ALPN) does the ClientHello ask for. The SNI host is what gets classified, and an SNI that
// differs from the CONNECT host is domain fronting. Sans-IO: bytes in, a verdict out. The
// caller owns the socket, keeps the bytes, and calls again with the longer buffer while the
// answer is `need-more`.
//
// Answers are monotone. Every check looks only at bytes already received and at lengths
// already declared, so a final answer (anything but `need-more`) for a prefix has the same
// kind for every longer stream, and the caller can stop reading at the first one. This is
// also why a broken length is reported as soon as it is seen: a client that declares a 16 KiB
// hello and then stalls gets `malformed`, not a wait for bytes that will never come.
//
// Deliberately strict, because a lenient parser and the real server disagreeing about the
// host is exactly how fronting gets through: one SNI extension with exactly one host_name
// (what BoringSSL and OpenSSL accept), duplicate SNI or ALPN extensions rejected, every
// vector length checked against the one around it. Everything we do not need (cipher suites,
// GREASE values, unknown extensions) is skipped by its length and never interpreted.
//
// SSLv2-format hellos (first byte with the top bit set) are reported as `not-tls`: nothing
// current sends them, and they carry no SNI, so they cannot be classified anyway.

export type HelloResult =
  | { readonly kind: 'need-more'; readonly need: number }
  | { readonly kind: 'not-tls'; readonly reason: string }
  | { readonly kind: 'hello'; readonly sni: string | null; readonly alpn: readonly string[]; readonly legacyVersion: number; readonly bytes: number }
  | { readonly kind: 'malformed'; readonly reason: string };

type Malformed = Extract<HelloResult, { kind: 'malformed' }>;

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const NAME_TYPE_HOST = 0;
/** TLS plaintext records carry at most 2^14 bytes (RFC 8446 §5.1). */
const MAX_RECORD_PAYLOAD = 16384;
/** The smallest ClientHello body: version, random, empty session id, one cipher suite, one compression method. */
const MIN_BODY = 2 + 32 + 1 + 2 + 2 + 1 + 1;
const MIN_MESSAGE = HANDSHAKE_HEADER + MIN_BODY;

/** Cap on the ClientHello handshake message (its 4-byte header included). Real hellos, post-quantum key shares and all, are under 2 KiB. */
export const MAX_HELLO_MESSAGE_BYTES = 16384;
/**
 * Cap on the stream bytes that make up a ClientHello: the message plus 16 KiB for record
 * headers. That lets any realistic hello through even when an evasion tool splits it into
 * 1-byte records (6 stream bytes a message byte), and bounds what the caller must buffer:
 * `need-more` never asks for more than this in total.
 */
export const MAX_HELLO_BYTES = MAX_HELLO_MESSAGE_BYTES + 16384;

const malformed = (reason: string): Malformed => ({ kind: 'malformed', reason });

/** Parses the ClientHello from the start of a stream (it may span several TLS records; cap total at 16 KiB + headers). */
export function parseClientHello(data: Uint8Array): HelloResult {
  const n = data.length;
  const notTls = sniff(data);
  if (notTls !== null) return notTls;

  let pos = 0; // start of the current record
  let got = 0; // message bytes received so far
  let total = -1; // message length with its header, once its 4 header bytes are in
  let bodyLength = 0;
  // Where the message's bytes lie: [start, end) pairs, one per record. Usually one record.
  const segments: number[] = [];
  let complete = false;
  let need = 0;

  for (;;) {
    const left = n - pos;
    if (left < RECORD_HEADER) {
      if (pos > 0) {
        const bad = checkLaterHeader(data, pos);
        if (bad !== null) return bad;
      }
      // Within the cap: the previous record was checked against this very lower bound.
      need = RECORD_HEADER - left + (total >= 0 ? total : MIN_MESSAGE) - got;
      break;
    }
    if (pos > 0) {
      const bad = checkLaterHeader(data, pos);
      if (bad !== null) return bad;
    }
    const length = (data[pos + 3]! << 8) | data[pos + 4]!;
    if (length === 0) return malformed('empty handshake record (forbidden by RFC 8446 §5.1)');
    if (length > MAX_RECORD_PAYLOAD) return malformed(`record of ${length} bytes exceeds the 16384-byte TLS limit`);
    const start = pos + RECORD_HEADER;
    const end = start + length;
    const have = Math.min(end, n);
    // The handshake header may itself be split across records, so it is read a byte at a time.
    for (let i = start; i < have && got + (i - start) < HANDSHAKE_HEADER; i++) {
      const k = got + (i - start);
      const byte = data[i]!;
      if (k === 0) {
        if (byte !== HANDSHAKE_CLIENT_HELLO) return malformed(`first handshake message has type ${byte}, not ClientHello`);
      } else {
        bodyLength = (bodyLength << 8) | byte;
      }
      if (k === HANDSHAKE_HEADER - 1) {
        total = HANDSHAKE_HEADER + bodyLength;
        if (total > MAX_HELLO_MESSAGE_BYTES) return malformed(`ClientHello of ${total} bytes exceeds the ${MAX_HELLO_MESSAGE_BYTES}-byte cap`);
        if (total < MIN_MESSAGE) return malformed(`ClientHello of ${total} bytes is too short to hold one`);
      }
    }
    const gotAfter = got + length;
    // A ClientHello must end on a record boundary: nothing else may follow it in its record.
    if (total >= 0 && gotAfter > total) return malformed('record carries bytes after the ClientHello');
    const stillMissing = (total >= 0 ? total : MIN_MESSAGE) - gotAfter;
    const streamAtLeast = end + (stillMissing > 0 ? RECORD_HEADER + stillMissing : 0);
    if (streamAtLeast > MAX_HELLO_BYTES) return tooLong();
    segments.push(start, have);
    got += have - start;
    if (have < end) {
      need = streamAtLeast - n;
      break;
    }
    pos = end;
    if (got === total) {
      complete = true;
      break;
    }
  }

  if (total < 0) return { kind: 'need-more', need };
  // Check what has arrived of the body so far, so a broken hello is reported without
  // waiting for the rest of it.
  const message = join(data, segments, got);
  const body = parseBody(message.subarray(HANDSHAKE_HEADER), bodyLength);
  if (body !== null && 'kind' in body) return body;
  if (!complete || body === null) return { kind: 'need-more', need };
  return { kind: 'hello', sni: body.sni, alpn: body.alpn, legacyVersion: body.legacyVersion, bytes: pos };
}

/** A stream's first bytes must be a handshake record header with version 3.0–3.4; anything else is another protocol. */
function sniff(data: Uint8Array): HelloResult | null {
  const b0 = data[0];
  if (b0 === undefined) return { kind: 'need-more', need: RECORD_HEADER + MIN_MESSAGE };
  if (b0 !== CONTENT_HANDSHAKE) {
    if (b0 >= 0x80) return { kind: 'not-tls', reason: 'top bit set: an SSLv2-style header (SSLv2 ClientHellos are not supported) or not TLS' };
    if (b0 >= 20 && b0 <= 24) return { kind: 'not-tls', reason: `first TLS record has content type ${b0}, not handshake` };
    if (b0 >= 0x20 && b0 < 0x7f) return { kind: 'not-tls', reason: 'stream starts with ASCII text (plain HTTP, an SSH banner or similar), not a TLS record' };
    return { kind: 'not-tls', reason: `first byte 0x${hex(b0)} is not a TLS handshake record` };
  }
  const b1 = data[1];
  const b2 = data[2];
  if ((b1 !== undefined && b1 !== 3) || (b2 !== undefined && b2 > 4)) {
    return { kind: 'not-tls', reason: 'record version is not TLS (3.0–3.4)' };
  }
  return null;
}

/** Later records of the hello must be handshake records too: TLS forbids interleaving other types. */
function checkLaterHeader(data: Uint8Array, pos: number): Malformed | null {
  const type = data[pos];
  if (type !== undefined && type !== CONTENT_HANDSHAKE) return malformed(`record of type ${type} inside the ClientHello`);
  const major = data[pos + 1];
  if (major !== undefined && major !== 3) return malformed('record version is not TLS inside the ClientHello');
  return null;
}

function tooLong(): Malformed {
  return malformed(`ClientHello stream would exceed ${MAX_HELLO_BYTES} bytes`);
}

/** The message bytes received so far, contiguous: a view when they lie in one record, else one copy. */
function join(data: Uint8Array, segments: number[], length: number): Uint8Array {
  if (segments.length === 2) return data.subarray(segments[0]!, segments[1]!);
  const out = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < segments.length; i += 2) {
    const part = data.subarray(segments[i]!, segments[i + 1]!);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface Facts {
  readonly sni: string | null;
  readonly alpn: readonly string[];
  readonly legacyVersion: number;
}

const NO_ALPN: readonly string[] = Object.freeze([]);

/**
 * Parses a ClientHello body of declared length `end`, of which `b` holds the first bytes
 * (possibly all). A length that runs past `end` is a lie (`malformed`); one that only runs
 * past what has arrived means wait (null). Facts returned for a partial body are provisional:
 * the caller waits for the whole message before answering `hello`.
 */
function parseBody(b: Uint8Array, end: number): Facts | Malformed | null {
  const have = b.length;
  if (have < 2) return null;
  if (b[0] !== 3) return malformed(`legacy_version 0x${hex(b[0]!)}${hex(b[1]!)} is not TLS`);
  const legacyVersion = (b[0] << 8) | b[1]!;
  let p = 34; // after version and random
  if (have < p + 1) return null;
  const sessionId = b[p]!;
  if (sessionId > 32) return malformed(`session_id of ${sessionId} bytes (at most 32)`);
  p += 1 + sessionId;

  if (p + 2 > end) return malformed('cipher_suites overruns the ClientHello');
  if (p + 2 > have) return null;
  const suites = u16(b, p);
  p += 2;
  if (suites === 0 || suites % 2 !== 0) return malformed(`cipher_suites length ${suites} is zero or odd`);
  p += suites;
  if (p + 1 > end) return malformed('cipher_suites or compression_methods overruns the ClientHello');
  if (p + 1 > have) return null;
  const methods = b[p]!;
  if (methods === 0) return malformed('no compression methods');
  p += 1 + methods;
  if (p > end) return malformed('compression_methods overruns the ClientHello');
  // SSL 3.0 and TLS 1.0 allowed a hello with no extensions block at all.
  if (p === end) return { sni: null, alpn: NO_ALPN, legacyVersion };

  if (p + 2 > end) return malformed('extensions length overruns the ClientHello');
  if (p + 2 > have) return null;
  const extensions = u16(b, p);
  p += 2;
  if (p + extensions > end) return malformed('extensions overrun the ClientHello');
  if (p + extensions < end) return malformed('bytes after the extensions');

  let sni: string | null = null;
  let sawSni = false;
  let alpn = NO_ALPN;
  let sawAlpn = false;
  while (p < end) {
    if (p + 4 > end) return malformed('extension header overruns the extensions');
    if (p + 4 > have) return null;
    const type = u16(b, p);
    const extEnd = p + 4 + u16(b, p + 2);
    p += 4;
    if (extEnd > end) return malformed(`extension ${type} overruns the extensions`);
    if (type === EXT_SERVER_NAME || type === EXT_ALPN) {
      // Two of either would let the proxy and the server each read a different one.
      if (type === EXT_SERVER_NAME ? sawSni : sawAlpn) return malformed(`extension ${type} appears twice`);
      if (extEnd > have) return null;
      if (type === EXT_SERVER_NAME) {
        sawSni = true;
        const host = parseServerName(b, p, extEnd);
        if (typeof host !== 'string') return host;
        sni = host;
      } else {
        sawAlpn = true;
        const protocols = parseAlpn(b, p, extEnd);
        if ('kind' in protocols) return protocols;
        alpn = protocols;
      }
    }
    // Every other extension, GREASE and unknown ones included, is skipped by its length.
    p = extEnd;
  }
  return { sni, alpn, legacyVersion };
}

/** server_name (RFC 6066 §3): a list holding exactly one host_name, as BoringSSL and OpenSSL require. */
function parseServerName(b: Uint8Array, p: number, end: number): string | Malformed {
  if (p + 2 > end || p + 2 + u16(b, p) !== end) return malformed('server_name list length does not match its extension');
  p += 2;
  if (p === end) return malformed('empty server_name list');
  let host: string | Malformed | null = null;
  while (p < end) {
    if (p + 3 > end) return malformed('server_name entry overruns its list');
    const type = b[p]!;
    const nameEnd = p + 3 + u16(b, p + 1);
    if (nameEnd > end) return malformed('server_name entry overruns its list');
    if (type !== NAME_TYPE_HOST) return malformed(`server_name entry of unknown type ${type}`);
    if (host !== null) return malformed('more than one host_name in server_name');
    host = hostName(b, p + 3, nameEnd);
    if (typeof host !== 'string') return host;
    p = nameEnd;
  }
  return host ?? malformed('no host_name in server_name');
}

/** Bytes allowed in an SNI host name: 1 as is, 2 folded to lower case, 0 refused. */
const LETTER_OR_DIGIT = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) LETTER_OR_DIGIT[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) LETTER_OR_DIGIT[c] = 2; // upper case: folded to lower
for (let c = 0x61; c <= 0x7a; c++) LETTER_OR_DIGIT[c] = 1;
LETTER_OR_DIGIT[0x2d] = 1; // '-'
LETTER_OR_DIGIT[0x5f] = 1; // '_': not strictly legal, but real hosts use it and browsers reach them

/**
 * A host name in LDH form, lower-cased, one trailing dot dropped: labels of 1–63 bytes, at
 * most 253 bytes. Anything else (non-ASCII, spaces, '%', ':', empty labels) is not a name a
 * classifier could trust. IP literals are refused as RFC 6066 requires; a name whose last
 * label is a number is one, as the WHATWG URL parser (and so the browser) reads it.
 */
function hostName(b: Uint8Array, start: number, end: number): string | Malformed {
  if (end > start && b[end - 1] === 0x2e) end--;
  const length = end - start;
  if (length === 0) return malformed('empty SNI host name');
  if (length > 253) return malformed(`SNI host name of ${length} bytes (at most 253)`);
  let host = '';
  let labelStart = start;
  let lastLabel = start;
  for (let i = start; i <= end; i++) {
    const c = i < end ? b[i]! : 0x2e;
    if (c === 0x2e) {
      const label = i - labelStart;
      if (label === 0) return malformed('SNI host name has an empty label');
      if (label > 63) return malformed(`SNI host name has a label of ${label} bytes (at most 63)`);
      if (i < end) host += '.';
      lastLabel = labelStart;
      labelStart = i + 1;
      continue;
    }
    const kind = c < 128 ? LETTER_OR_DIGIT[c]! : 0;
    if (kind === 0) return malformed(`SNI host name contains byte 0x${hex(c)}`);
    host += String.fromCharCode(kind === 2 ? c | 0x20 : c);
  }
  if (isNumber(b, lastLabel, end)) return malformed('SNI carries an IP address, not a host name');
  return host;
}

/** The WHATWG "ends in a number" test for one label: decimal/octal digits, or 0x and hex digits. */
function isNumber(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  let hexDigits = false;
  if (end - start >= 2 && b[i] === 0x30 && (b[i + 1]! | 0x20) === 0x78) {
    hexDigits = true;
    i += 2;
  }
  for (; i < end; i++) {
    const c = b[i]! | 0x20; // folds A-F to a-f; digits are unchanged
    const digit = (c >= 0x30 && c <= 0x39) || (hexDigits && c >= 0x61 && c <= 0x66);
    if (!digit) return false;
  }
  return true;
}

/** application_layer_protocol_negotiation (RFC 7301): a non-empty list of non-empty names. */
function parseAlpn(b: Uint8Array, p: number, end: number): string[] | Malformed {
  if (p + 2 > end || p + 2 + u16(b, p) !== end) return malformed('ALPN list length does not match its extension');
  p += 2;
  if (p === end) return malformed('empty ALPN list');
  const names: string[] = [];
  while (p < end) {
    const length = b[p]!;
    const nameEnd = p + 1 + length;
    if (length === 0) return malformed('empty ALPN protocol name');
    if (nameEnd > end) return malformed('ALPN protocol name overruns its list');
    // Protocol ids are opaque bytes; latin1 keeps every one distinct and never throws.
    let name = '';
    for (let i = p + 1; i < nameEnd; i++) name += String.fromCharCode(b[i]!);
    names.push(name);
    p = nameEnd;
  }
  return names;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
