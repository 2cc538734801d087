// The proxy: sockets in, a verdict from the pure gate (gate.ts), sockets out. This file only
// makes the shared memories and the two HTTP servers and wires their events to the shells, each
// one idea in a file of its own:
//   connection-limits.ts  server options, connections per device, malformed requests, taken-over sockets
//   request-shell.ts      every request (plain, upgrade, inside a decrypted tunnel): facts → gate → act → record
//     sign-in.ts            who is asking
//     http-relay.ts         forwarding over the snapshot's undici pool, the answer streamed back
//     upgrade-relay.ts      upgrades: their own upstream connection, joined on a 101
//     own-pages.ts, answers.ts   the proxy's own pages; block, warn and plain answers
//     upstream-failure.ts   a site that cannot be reached, answered
//     recording.ts          the alert and the traffic-log row
//   connect-tunnel.ts     CONNECT: judged, then its ClientHello; refused, dropped, joined or decrypted
//   decrypted-tunnel.ts   TLS ended with the school's CA, the inner server whose requests take request-shell.ts
//   socket-join.ts        the one way two sockets are joined (tunnels and upgrades)
// Every request and tunnel takes one snapshot at its start (live-snapshot.ts) and passes it down,
// so a reload, an unblock or an exclusion never changes it half-way.
import http from 'node:http';
import type net from 'node:net';
import type { Classifier } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { WarnMemory } from './warn-memory.js';
import { DeviceShare } from './device-share.js';
import type { TrafficSink } from './traffic-record.js';
import type { NewConcern } from '../store/concerns.js';
import type { AlertSink } from '../alerts/service.js';
import type { Authenticator } from '../identity/auth.js';
import type { GateMemory, Interception } from './gate.js';
import { PinningMemory } from '../tls/pinning.js';
import { LiveSnapshot } from './live-snapshot.js';
import { capPerClient, onClientError, serverOptions } from './connection-limits.js';
import { innerServer } from './decrypted-tunnel.js';
import { onConnect } from './connect-tunnel.js';
import { onRequest, onUpgrade } from './request-shell.js';
import type { ShellContext } from './shell-context.js';

/** What the proxy needs from the running service: the configuration and lists in force. */
export interface ProxySnapshotSource {
  readonly classifier: Classifier;
  readonly config: SchoolgateConfig;
}

export interface ProxyDeps {
  /**
   * The running proxy's snapshots (LiveSnapshot: with the unblocks and exclusions, rebuilt on
   * notice), or a bare source, whose reloads are followed with no unblocks or stored exclusions.
   */
  readonly source: LiveSnapshot | ProxySnapshotSource;
  readonly log: Logger;
  readonly now?: () => number;
  /** Proxy authentication; without it every network is treated as `auth: off`. */
  readonly auth?: Authenticator;
  /** The traffic log; without it nothing is recorded (tests of other parts). */
  readonly traffic?: TrafficSink;
  /** Safeguarding alerts, raised (and stored) before the response goes back. */
  readonly alerts?: AlertSink;
  /** Where "report a concern" stores what it is told; without it the form says it cannot. */
  readonly concerns?: { record(c: NewConcern): number };
  /**
   * HTTPS inspection: the school's CA and its certificates; without it nothing is decrypted. A
   * function when the CA can appear or change while running (ca init, ca rotate, a reload). For a
   * bare source only: a LiveSnapshot brings its own.
   */
  readonly tls?: Interception | (() => Interception | null);
  /**
   * What the proxy remembers between requests, when it must be shared with other proxy
   * processes (proxy.workers, cluster/shared-memory.ts); without it, this proxy's own.
   */
  readonly memories?: { readonly warned?: WarnMemory; readonly pinning?: PinningMemory };
}

export type { Interception } from './gate.js';

export interface Proxy {
  readonly server: http.Server;
  /** CONNECT tunnels are taken over from the HTTP server, which no longer counts them: end them on shutdown. */
  destroyTunnels(): void;
}

export function createProxyServer(deps: ProxyDeps): Proxy {
  const tunnels = new Set<net.Socket>();
  const now = deps.now ?? Date.now;
  const warned = deps.memories?.warned ?? new WarnMemory();
  const currentTls = (): Interception | null => (typeof deps.tls === 'function' ? deps.tls() : deps.tls ?? null);
  // The one place the live configuration is read: once at the start of each request or tunnel.
  const own = deps.source instanceof LiveSnapshot ? null : new LiveSnapshot(deps.source, { tls: currentTls });
  const live = own ?? (deps.source as LiveSnapshot);
  const pinning = deps.memories?.pinning ?? new PinningMemory(() => live.current.config.tls.pinning);
  const shares = new DeviceShare(() => live.current.config.proxy.limits.upstreamPerClient);
  const memory: GateMemory = {
    continued: (who, host, at) => warned.continued(who, host, at),
    pinBypassed: (host, at) => pinning.isBypassed(host, at),
  };
  // Limits are read at start; a reload that changes them takes effect on restart.
  const limits = live.current.config.proxy.limits;
  const options = serverOptions(limits);
  const server = http.createServer(options);
  // Decrypted tunnels are served by a second HTTP server that never listens: each intercepted
  // TLS socket is handed to it, and its requests take the same path as plain HTTP ones.
  const inner = innerServer(options);
  const ctx: ShellContext = {
    log: deps.log, now, auth: deps.auth, traffic: deps.traffic, alerts: deps.alerts, concerns: deps.concerns,
    live, memory, warned, pinning, shares, limits, tunnels, inner,
  };
  for (const s of [server, inner]) {
    s.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(ctx, req, res));
    s.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => onUpgrade(ctx, req, socket, head));
    s.on('clientError', onClientError);
  }
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => onConnect(ctx, req, socket, head));
  capPerClient(server, limits, deps.log);
  server.once('close', () => {
    inner.close();
    own?.close();
  });
  return { server, destroyTunnels: () => { for (const t of tunnels) t.destroy(); } };
}
