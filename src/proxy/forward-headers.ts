// Which header fields pass through Schoolgate as a forward proxy, and what it adds: hop-by-hop
// removal (RFC 9110 7.6.1), Via (7.6.3), Max-Forwards (7.6.2), X-Forwarded-For (de facto),
// Upgrade (7.8) and Expect: 100-continue (10.1.1). Pure functions over Node's rawHeaders lists
// ([name, value, name, value, …], names in their original case), so the socket shell and the
// tests share one truth and no socket is needed to test it.
//
// Assumptions, because these lists come from Node's HTTP parser (llhttp, strict mode):
// - Names are tokens and values hold no CR, LF or NUL: the parser refuses such a message before
//   we see it. A hand-built list that breaks this throws a RangeError naming the field; nothing
//   is passed on or dropped quietly.
// - Values have their surrounding whitespace already trimmed.
// - The parser refuses a message with both Transfer-Encoding and Content-Length; if one still
//   arrives we drop Content-Length, as RFC 9112 6.3 asks of a proxy that forwards it.
// - The proxy re-frames bodies itself (Node chunks or sets Content-Length on the upstream side),
//   so Transfer-Encoding and Trailer never pass through.
import { clientAddress, ipFamily } from '../net/ip.js';

export interface ForwardOptions {
  /** Our Via pseudonym, e.g. "schoolgate" (a token, optionally ":port"). */
  readonly via: string;
  /** Add the client's address to X-Forwarded-For (appending to one the client sent). */
  readonly xForwardedFor: boolean;
  /** The client socket's address; "::ffff:a.b.c.d" is written as "a.b.c.d". Checked only when used. */
  readonly clientAddress: string;
}

export interface ForwardedRequest {
  /** The raw list to send upstream. */
  readonly headers: string[];
  /**
   * The received Max-Forwards minus one; null when absent or not a valid number (then the field
   * is passed on untouched). A received 0 gives -1: no hop left, this proxy is the final
   * recipient. Pass this value to answersItself(); the header sent upstream never goes below 0.
   */
  readonly maxForwards: number | null;
  /** The protocols being relayed ("websocket") when an HTTP/1.1 client sent Upgrade and Connection names upgrade; else null. */
  readonly upgrade: string | null;
  /** The client (HTTP/1.1) expects 100 Continue before it sends the body. */
  readonly expectContinue: boolean;
}

/** Always hop-by-hop, whatever Connection says (RFC 9110 7.6.1, plus Proxy-Authorization/-Authenticate, which are for this proxy, and Trailer, since bodies are re-framed). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/**
 * Never removed because Connection names it: without Host the upstream request cannot be routed
 * (Node adds no Host when given a raw list). RFC 9110 7.6.1 forbids naming end-to-end fields, so
 * a client that does is broken or probing; we keep the field rather than send a broken request.
 */
const NEVER_CONNECTION_OPTION: ReadonlySet<string> = new Set(['host']);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VIA_PSEUDONYM = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?::[0-9]{1,5})?$/;
const BAD_VALUE = /[\r\n\0]/;
const DIGITS = /^[0-9]+$/;
/** h2c is never relayed: once upgraded, later requests on the connection would pass the filter unseen (h2c smuggling); RFC 9113 also retired the h2c upgrade. */
const H2C = /^h2c(?:\/|$)/i;

export function forwardRequestHeaders(raw: readonly string[], httpVersion: '1.0' | '1.1', opts: ForwardOptions): ForwardedRequest {
  const viaItem = viaFor(httpVersion, opts.via);
  const { headers, upgrade } = stripHopByHop(raw, httpVersion);

  // Read from the received list, not the stripped one: a field named in Connection is still
  // addressed to us, it is just not passed on.
  const maxValues: string[] = [];
  let expectContinue = false;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'max-forwards') maxValues.push(raw[i + 1]!);
    else if (lower === 'expect' && httpVersion === '1.1' && listItems(raw[i + 1]!).some(isContinue)) expectContinue = true;
  }
  const received = parseMaxForwards(maxValues);

  const out: string[] = [];
  let maxWritten = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'max-forwards' && received !== null) {
      // One field with the decremented value; repeats of the same value collapse into it.
      if (!maxWritten) out.push(name, String(Math.max(0, received - 1)));
      maxWritten = true;
      continue;
    }
    if (lower === 'expect' && httpVersion === '1.0') {
      // RFC 9110 10.1.1: a 100-continue expectation from HTTP/1.0 is ignored; we do not ask
      // upstream for a 100 that could not be sent on to a 1.0 client (15.2). Other expectations stay.
      const rest = listItems(value).filter((e) => !isContinue(e));
      if (rest.length > 0) out.push(name, rest.join(', '));
      continue;
    }
    out.push(name, value);
  }

  appendToList(out, 'via', 'Via', viaItem);
  if (opts.xForwardedFor) appendToList(out, 'x-forwarded-for', 'X-Forwarded-For', clientIp(opts.clientAddress));

  return { headers: out, maxForwards: received === null ? null : received - 1, upgrade, expectContinue };
}

/** `httpVersion` is the version of the response as received from upstream (Via names what was received). */
export function forwardResponseHeaders(raw: readonly string[], httpVersion: '1.0' | '1.1', via: string): string[] {
  const viaItem = viaFor(httpVersion, via);
  // Upgrade stays only when Connection names it (a 101, or a 426 saying what to upgrade to).
  const { headers } = stripHopByHop(raw, httpVersion);
  appendToList(headers, 'via', 'Via', viaItem);
  return headers;
}

/**
 * True when the proxy must answer an OPTIONS or TRACE itself: the request arrived with
 * Max-Forwards: 0 (RFC 9110 7.6.2). Takes ForwardedRequest.maxForwards, which is -1 then.
 * Methods are case-sensitive (9.1), so "options" is not OPTIONS.
 */
export function answersItself(method: string, maxForwards: number | null): boolean {
  return (method === 'OPTIONS' || method === 'TRACE') && maxForwards !== null && maxForwards < 0;
}

/** Drops hop-by-hop fields and those Connection names; keeps Connection: upgrade and Upgrade when an upgrade is relayed. */
function stripHopByHop(raw: readonly string[], httpVersion: '1.0' | '1.1'): { headers: string[]; upgrade: string | null } {
  checkRaw(raw);
  const named = new Set<string>();
  const protocols: string[] = [];
  let hasTransferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'connection') {
      for (const t of listItems(raw[i + 1]!)) named.add(t.toLowerCase());
    } else if (lower === 'upgrade') {
      for (const p of listItems(raw[i + 1]!)) if (!H2C.test(p)) protocols.push(p);
    } else if (lower === 'transfer-encoding') {
      hasTransferEncoding = true;
    }
  }
  // Upgrade means nothing in HTTP/1.0 (RFC 9110 7.8: ignore it), and needs the "upgrade" option.
  const upgrade = httpVersion === '1.1' && named.has('upgrade') && protocols.length > 0 ? protocols.join(', ') : null;

  const out: string[] = [];
  let connectionWritten = false;
  let upgradeWritten = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      // Only the upgrade option survives; close/keep-alive are about the client's own connection.
      if (upgrade !== null && !connectionWritten) out.push(name, 'upgrade');
      connectionWritten = true;
      continue;
    }
    if (lower === 'upgrade') {
      if (upgrade !== null && !upgradeWritten) out.push(name, upgrade);
      upgradeWritten = true;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (named.has(lower) && !NEVER_CONNECTION_OPTION.has(lower)) continue;
    if (lower === 'content-length' && hasTransferEncoding) continue;
    out.push(name, raw[i + 1]!);
  }
  return { headers: out, upgrade };
}

function checkRaw(raw: readonly string[]): void {
  if (raw.length % 2 !== 0) throw new RangeError(`raw header list has odd length ${raw.length}: it must be [name, value, …] pairs`);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!TOKEN.test(name)) throw new RangeError(`header name ${JSON.stringify(name)} is not a token`);
    if (BAD_VALUE.test(raw[i + 1]!)) throw new RangeError(`header ${name} has a value with CR, LF or NUL`);
  }
}

/** Elements of a comma-separated list field, trimmed, empties dropped (RFC 9110 5.6.1). */
function listItems(value: string): string[] {
  const items: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '') items.push(t);
  }
  return items;
}

function isContinue(expectation: string): boolean {
  return expectation.toLowerCase() === '100-continue';
}

/** 1*DIGIT, every repeat the same number; anything else is treated as absent (and passed on untouched). */
function parseMaxForwards(values: readonly string[]): number | null {
  let n: number | null = null;
  for (const v of values) {
    if (!DIGITS.test(v)) return null;
    // Huge values lose nothing that matters by being capped: nobody counts that many hops.
    const m = Math.min(Number(v), Number.MAX_SAFE_INTEGER);
    if (n !== null && m !== n) return null;
    n = m;
  }
  return n;
}

function viaFor(httpVersion: '1.0' | '1.1', via: string): string {
  if (!VIA_PSEUDONYM.test(via)) throw new RangeError(`via ${JSON.stringify(via)} is not a token (optionally with :port), as RFC 9110 7.6.3 requires`);
  return `${httpVersion} ${via}`;
}

/** Appends an element to the last field of that name (same meaning as a new line, one line fewer), or adds the field. */
function appendToList(headers: string[], lower: string, name: string, item: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i]!.toLowerCase() !== lower) continue;
    const v = headers[i + 1]!;
    headers[i + 1] = v.trim() === '' ? item : `${v}, ${item}`;
    return;
  }
  headers.push(name, item);
}

function clientIp(address: string): string {
  const unmapped = clientAddress(address);
  if (ipFamily(unmapped) === 0) throw new RangeError(`clientAddress ${JSON.stringify(address)} is not an IP address`);
  return unmapped;
}
