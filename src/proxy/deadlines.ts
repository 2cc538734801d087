// Deadlines for the few seconds of a tunnel's opening (the ClientHello to arrive, the destination
// to connect), kept by one timer for every socket rather than a timer each: a Node timer is an
// object with its async-hook ids inserted into a list and taken out again, twice a tunnel, for a
// deadline that is almost never reached. A deadline is checked every `tickMs`, so it falls up to
// one tick late; these bound misbehaving clients and servers, where a second more is no matter.
import type net from 'node:net';

export class Deadlines {
  /** Socket → when it is late (ms since the epoch); what is done then is `late`. */
  readonly #due = new Map<net.Socket, number>();
  #timer: NodeJS.Timeout | null = null;

  /**
   * `late` is called with a socket whose deadline passed before it was cleared (and the deadline
   * is then forgotten). `now` is the clock deadlines are set and checked by.
   */
  constructor(
    private readonly late: (socket: net.Socket) => void,
    private readonly tickMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `socket` must be cleared within `ms`, or `late` is called. */
  set(socket: net.Socket, ms: number): void {
    this.#due.set(socket, this.now() + ms);
    // One timer while anything is due; it stops at the first tick with nothing left (sweep).
    // Unreferenced: a pending deadline must not keep the process alive.
    this.#timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
  }

  clear(socket: net.Socket): void {
    this.#due.delete(socket);
  }

  /** Calls `late` for every socket past its deadline (the timer's tick; tests call it after moving the clock). */
  sweep(): void {
    const now = this.now();
    for (const [socket, due] of this.#due) {
      if (due > now) continue;
      this.#due.delete(socket);
      this.late(socket);
    }
    if (this.#due.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Sockets with a deadline now (tests). */
  get size(): number {
    return this.#due.size;
  }
}
