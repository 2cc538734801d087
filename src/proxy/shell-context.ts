// What the proxy's shells share, made once by createProxyServer (server.ts) and passed to each:
// the running service's parts, the snapshots, the memories the gate consults, and the two HTTP
// servers' common state. One object rather than closures, so each shell is a plain module that
// says what it uses.
import type http from 'node:http';
import type net from 'node:net';
import type { AlertSink } from '../alerts/service.js';
import type { Authenticator } from '../identity/auth.js';
import type { Logger } from '../log.js';
import type { NewConcern } from '../store/concerns.js';
import type { PinningMemory } from '../tls/pinning.js';
import type { ProxyLimits } from './config.js';
import type { DeviceShare } from './device-share.js';
import type { GateMemory } from './gate.js';
import type { LiveSnapshot } from './live-snapshot.js';
import type { TrafficSink } from './traffic-record.js';
import type { WarnMemory } from './warn-memory.js';

export interface ShellContext {
  readonly log: Logger;
  readonly now: () => number;
  /** Proxy authentication; without it every network is treated as `auth: off`. */
  readonly auth: Authenticator | undefined;
  /** The traffic log; without it nothing is recorded. */
  readonly traffic: TrafficSink | undefined;
  /** Safeguarding alerts, raised (and journalled) before the response goes back. */
  readonly alerts: AlertSink | undefined;
  /** Where "report a concern" stores what it is told; without it the form says it cannot. */
  readonly concerns: { record(c: NewConcern): number } | undefined;
  /** The snapshots: each request or tunnel takes one at its start. */
  readonly live: LiveSnapshot;
  /** What the gate consults of what happened before (warn click-throughs, pinned apps). */
  readonly memory: GateMemory;
  readonly warned: WarnMemory;
  readonly pinning: PinningMemory;
  /** Each device's share of a site's upstream connections. */
  readonly shares: DeviceShare;
  /** Read at start; a reload that changes them takes effect on restart. */
  readonly limits: ProxyLimits;
  /** Sockets taken over from the HTTP servers (CONNECT, upgrades), ended on shutdown. */
  readonly tunnels: Set<net.Socket>;
  /** The HTTP server that never listens: decrypted tunnels are handed to it (decrypted-tunnel.ts). */
  readonly inner: http.Server;
}
