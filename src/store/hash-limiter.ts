// How many password hashes run at once: each scrypt takes ~32 MiB and a libuv pool thread (which
// DNS lookups share), so a burst of sign-ins must queue rather than starve the proxy.

/** Runs at most `max` tasks at once; the rest wait in order. */
export class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`maxConcurrentHashes must be a whole number of at least 1, not ${max}`);
    this.#max = max;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}
