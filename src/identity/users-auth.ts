// Proxy authentication from the users in the store: the one place identity/ and store/ meet.
import type { UserStore } from '../store/users.js';
import { Authenticator } from './auth.js';

export function authenticatorFor(users: UserStore, now?: () => number): Authenticator {
  return new Authenticator({
    ...(now ? { now } : {}),
    verify: async (username, password) => {
      const r = await users.verify(username, password);
      return r.ok ? { ok: true, user: { username: r.user.username, group: r.user.group } } : { ok: false, reason: r.reason };
    },
  });
}
