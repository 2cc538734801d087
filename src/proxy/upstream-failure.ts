// When a request or tunnel cannot reach its site: refused by the proxy's own destination guard
// (destinations.ts), or the site failed (no such name, refused, timed out, a certificate that
// does not verify). What the person is told, and what the traffic log says.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { plain, sendPage } from './answers.js';
import type { GateSnapshot } from './gate.js';
import type { OutcomeTracker } from './recording.js';
import { refusedByProxy } from './traffic-record.js';

export interface UpstreamFailure {
  readonly status: 403 | 502 | 504;
  readonly title: string;
  /** Short, for the traffic log and a refused tunnel's X-Schoolgate-Reason. */
  readonly reason: string;
  text(host: string): string;
}

const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
/** OpenSSL's and Node's codes for a certificate that does not verify (untrusted, expired, wrong name). */
const BAD_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH/;

/** What the person is told when the site itself fails: not a block, so not the block page. */
export function upstreamFailure(e: NodeJS.ErrnoException): UpstreamFailure {
  const code = e.code ?? '';
  // Refused by the proxy's own destination guard (destinations.ts), not by the site.
  if (code === 'ESCHOOLGATEPRIVATE') return { status: 403, title: 'Not reachable through Schoolgate', reason: 'private or local address', text: () => `${e.message}.` };
  if (TIMED_OUT.has(code)) return { status: 504, title: 'The site did not answer', reason: 'the site did not answer in time', text: (h) => `${h} did not answer in time. Try again later.` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return { status: 502, title: 'No such site', reason: `no such site (${code})`, text: (h) => `${h} could not be found (${code}). Check the address.` };
  // Never hidden and never clicked through: a pupil cannot judge whether someone is pretending to be the site.
  if (BAD_CERTIFICATE.test(code)) return { status: 502, title: 'This site\'s certificate is not valid', reason: `certificate not valid (${code})`, text: (h) => `${h} presented a security certificate that could not be trusted (${code}). Schoolgate has not opened the site, because someone may be pretending to be it. If you think this is wrong, tell the IT technician.` };
  if (code === 'ECONNREFUSED') return { status: 502, title: 'The site refused the connection', reason: 'the site refused the connection', text: (h) => `${h} refused the connection. Try again later.` };
  return { status: 502, title: 'The site could not be reached', reason: `the site could not be reached (${code || e.message})`, text: (h) => `Schoolgate could not reach ${h} (${code || e.message}).` };
}

/**
 * The answer when a request could not go upstream: refused by the proxy's destination guard
 * (logged as refused, in plain text), or the site failed (a page saying how).
 */
export function answerFailure(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, err: NodeJS.ErrnoException, host: string, outcome: OutcomeTracker): void {
  const failure = upstreamFailure(err);
  if (failure.status === 403) {
    outcome.set(refusedByProxy(failure.reason));
    return plain(res, 403, `${failure.text(host)}\n`);
  }
  sendPage(snap, req, res, failure.status, failure.title, failure.text(host));
}
