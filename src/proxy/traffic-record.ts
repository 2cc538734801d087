// What the proxy writes to the traffic log for a request or a tunnel: who, what, what the filter
// did and why, and how it went. Built from the decision once, finished when the connection or
// response closes (status, bytes, duration).
import type { Classification } from '../classify/classifier.js';
import type { NormalisedUrl } from '../classify/normalise-url.js';
import type { Decision } from '../policy/types.js';
import type { LogConfig } from '../store/config.js';
import { clientAddress } from '../net/ip.js';
import { loggedPath, type LoggedAction, type Scheme, type TrafficEntry } from '../store/traffic-entry.js';

/** Where the proxy records traffic: TrafficLog in production, anything with record() in tests. */
export interface TrafficSink {
  /** An id for a row recorded later (an alert names the request before the row is written). */
  reserve(): number;
  record(entry: Omit<TrafficEntry, 'id'>, id?: number): number;
}

export interface Outcome {
  readonly action: LoggedAction;
  readonly ruleKind: TrafficEntry['ruleKind'];
  readonly rule: string | null;
}

/** The part of a row known once the request is decided. */
export type Decided = Omit<TrafficEntry, 'id' | 'status' | 'up' | 'down' | 'ms' | 'action' | 'ruleKind' | 'rule'>;

/**
 * The whole row, its fields written out: object spread costs several microseconds a row here,
 * more than the rest of the logging.
 */
export function completeRow(d: Decided, o: Outcome, status: number, up: number, down: number, ms: number): Omit<TrafficEntry, 'id'> {
  return {
    client: d.client, user: d.user, group: d.group, method: d.method, scheme: d.scheme, host: d.host, path: d.path, categories: d.categories,
    action: o.action, ruleKind: o.ruleKind, rule: o.rule, status, up, down, ms, term: d.term, alert: d.alert,
  };
}

export function decidedOutcome(d: Decision, continuedAfterWarning: boolean): Outcome {
  const action: LoggedAction = d.action === 'warn' && continuedAfterWarning ? 'continued' : d.action;
  return { action, ruleKind: d.rule.kind, rule: d.rule.text };
}

export function refusedByProxy(reason: string): Outcome {
  return { action: 'refused', ruleKind: 'proxy', rule: reason };
}


export interface DecidedInput {
  readonly address: string | undefined;
  readonly who: { readonly group: string; readonly user?: string };
  readonly method: string;
  readonly scheme: Scheme;
  readonly url: NormalisedUrl;
  /** Tunnels log the host only. */
  readonly withPath: boolean;
  readonly classification: Classification;
  /** null when the proxy refused before the policy was asked. */
  readonly decision: Decision | null;
  readonly log: LogConfig;
  /** The alert the request raised. */
  readonly alert?: number | null;
}

export function decidedRow(i: DecidedInput): Decided {
  const mode = i.log.queries.get(i.who.group) ?? 'keep';
  return {
    client: clientAddress(i.address), user: i.who.user ?? null, group: i.who.group, method: i.method, scheme: i.scheme, host: i.url.host,
    path: i.withPath ? loggedPath(i.url.path, i.url.query, mode) : null,
    // A redacted query hides its search term too; alerts are raised from the classification, not from the log.
    categories: (i.decision?.categories ?? i.classification.categories).join(','), term: mode === 'keep' ? i.classification.searchTerm?.raw ?? null : null, alert: i.alert ?? null,
  };
}
