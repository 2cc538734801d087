// The proxy's shared memories by name, alike in the primary and in every worker (proxy.workers):
// warn click-throughs, pinned apps, and sign-in (failures, lock-outs, remembered sign-ins).
import type { Authenticator } from '../../identity/auth.js';
import { PinningMemory } from '../../tls/pinning.js';
import { WarnMemory } from '../warn-memory.js';
import type { SharedMemories } from './shared-memory.js';

export interface ProxyMemories {
  readonly warned: WarnMemory;
  readonly pinning: PinningMemory;
  readonly auth: Authenticator;
}

type PinningSettings = ConstructorParameters<typeof PinningMemory>[0];

export function proxyMemories(auth: Authenticator, pinning: PinningSettings): ProxyMemories {
  return { warned: new WarnMemory(), pinning: new PinningMemory(pinning), auth };
}

export function byName(m: ProxyMemories): SharedMemories {
  return { warn: m.warned, pinning: m.pinning, 'sign-in': m.auth } as SharedMemories;
}
