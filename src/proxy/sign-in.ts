// Who is asking: the network a request comes from gives its group, unless that network asks for
// proxy sign-in, which is checked here (the only I/O before the gate can judge a request).
import type { IncomingMessage } from 'node:http';
import { deviceOf } from './connection-limits.js';
import type { GateSnapshot, Identity } from './gate.js';
import type { ShellContext } from './shell-context.js';

const CHALLENGE = { 'proxy-authenticate': 'Basic realm="Schoolgate", charset="UTF-8"' };

/**
 * Who is asking when the network alone says so (no sign-in to check): most requests, answered
 * without a promise; null when identify() must check a sign-in.
 */
export function knownByNetwork(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage): Identity | null {
  const proxy = snap.config.proxy;
  const network = proxy.networks.lookup(req.socket.remoteAddress ?? '') ?? { group: proxy.defaultGroup, auth: proxy.defaultAuth };
  if (network.auth === 'off' || !ctx.auth || (network.auth === 'optional' && req.headers['proxy-authorization'] === undefined)) return { kind: 'known', group: network.group };
  return null;
}

export async function identify(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage): Promise<Identity> {
  const known = knownByNetwork(ctx, snap, req);
  if (known !== null || !ctx.auth) return known ?? { kind: 'known', group: snap.config.proxy.defaultGroup };
  const address = req.socket.remoteAddress ?? '';
  const header = req.headers['proxy-authorization'];
  // Sign-in limits count per device (an IPv6 device's whole /64), as the other limits do.
  const out = await ctx.auth.check(deviceOf(req.socket), header);
  if (out.kind === 'ok') return { kind: 'known', group: out.user.group, user: out.user.username };
  if (out.kind === 'locked') {
    ctx.log.warn({ address }, 'proxy sign-in refused: too many failures from this address');
    return { kind: 'refused', status: 403, headers: { 'retry-after': String(out.retryAfterS) }, body: `Too many failed sign-ins from this device. Try again in ${Math.ceil(out.retryAfterS / 60)} minutes, or ask a member of staff.\n` };
  }
  if (out.delayMs > 0) await new Promise((r) => setTimeout(r, out.delayMs));
  return { kind: 'refused', status: 407, headers: CHALLENGE, body: 'Sign in to use the school\'s internet.\n' };
}
