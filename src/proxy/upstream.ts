// The way upstream for one proxy and TLS configuration: the pooled undici Agent that relays HTTP
// (keep-alive connections, verified HTTPS for decrypted tunnels) and the trusted roots that
// upgrades inside decrypted tunnels are verified against. A snapshot holds one; snapshots that
// differ only in unblocks or exclusions share it, so an unblock does not drop the pool. A request
// holds the snapshot's Upstream from its start until its request is handed to the agent; once the
// snapshot is replaced and nothing holds it, the agent is closed, and undici's close() lets the
// requests already handed to it finish.
import tls from 'node:tls';
import { Agent } from 'undici';
import { ipFamily } from '../net/ip.js';
import type { TlsConfig } from '../tls/config.js';
import { UPSTREAM_POOL, type ProxyConfig } from './config.js';
import { guardedLookup } from './destinations.js';

export class Upstream {
  #agent: Agent | null = null;
  #holds = 0;
  #retired = false;
  #closed: Promise<void> | null = null;
  readonly roots: tls.SecureContext | undefined;
  /** The guarded DNS lookup of every connection upstream (the pool's, tunnels', upgrades'): made once per configuration. */
  readonly lookup: ReturnType<typeof guardedLookup>;

  constructor(readonly proxy: ProxyConfig, readonly tlsConfig: TlsConfig) {
    this.roots = upstreamRoots(tlsConfig);
    this.lookup = guardedLookup(proxy.allowedPrivate, proxy.resolve);
  }

  /** The same proxy and TLS sections: the same destinations, timeouts and roots. */
  serves(proxy: ProxyConfig, tlsConfig: TlsConfig): boolean {
    return this.proxy === proxy && this.tlsConfig === tlsConfig && !this.#retired;
  }

  /** The pool, made at its first use (a snapshot that relays nothing opens nothing). */
  get agent(): Agent {
    if (this.#closed) throw new Error('this upstream pool was closed: take the current snapshot');
    if (this.#agent) return this.#agent;
    const proxy = this.proxy;
    const timeout = proxy.limits.upstreamTimeoutMs;
    const roots = this.roots;
    this.#agent = new Agent({
      connections: UPSTREAM_POOL, keepAliveTimeout: 30_000, headersTimeout: timeout, bodyTimeout: timeout,
      // HTTPS upstreams (decrypted tunnels) are verified against these roots; undici checks the
      // certificate against the host name it dials.
      connect: { timeout, lookup: this.lookup as never, ...(roots ? { secureContext: roots } : {}) },
    });
    return this.#agent;
  }

  /** TLS options for a verified connection to an upstream host (a name or an IP address). */
  tlsFor(host: string): tls.ConnectionOptions {
    const roots = this.roots;
    return { ...(ipFamily(host) === 0 ? { servername: host } : {}), ...(roots ? { secureContext: roots } : {}), rejectUnauthorized: true };
  }

  hold(): void {
    this.#holds++;
  }

  release(): void {
    this.#holds--;
    if (this.#retired && this.#holds === 0) void this.close();
  }

  /** No snapshot will hand this out again: closed as soon as nothing holds it. */
  retire(): void {
    this.#retired = true;
    if (this.#holds === 0) void this.close();
  }

  /** How many requests hold it now (for tests and the log). */
  get holds(): number {
    return this.#holds;
  }

  /** Resolves when the agent has closed (requests already handed to it have finished). */
  close(): Promise<void> {
    this.#closed ??= this.#agent ? this.#agent.close() : Promise.resolve();
    return this.#closed;
  }

  get closed(): boolean {
    return this.#closed !== null;
  }
}

const rootsFor = new WeakMap<TlsConfig, tls.SecureContext | undefined>();

/**
 * The CAs upstream servers are verified against: Node's built-in roots, the operating system's
 * where this Node can read them (22.15 and later), and the configured extras; undefined leaves
 * Node's default. Built into one context per configuration: passing the certificates as `ca`
 * made Node parse all 145 roots again for every upstream connection (25 ms of the event loop,
 * bench/RESULTS.md "HTTPS inspection").
 */
function upstreamRoots(t: TlsConfig): tls.SecureContext | undefined {
  if (rootsFor.has(t)) return rootsFor.get(t);
  const read = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  const system = read ? read('system') : [];
  const roots = system.length === 0 && t.upstreamCas.length === 0 ? undefined : tls.createSecureContext({ ca: [...tls.rootCertificates, ...system, ...t.upstreamCas] });
  rootsFor.set(t, roots);
  return roots;
}
