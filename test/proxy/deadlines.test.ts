// One timer's deadlines for many sockets (deadlines.ts), checked by moving a clock by hand and
// sweeping: nothing waits.
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../src/proxy/deadlines.js';

const socket = (name: string): net.Socket => ({ name }) as unknown as net.Socket;

/** Deadlines on a clock the test sets (`at`), and the sockets found late, in order. */
function deadlines() {
  const clock = { t: 0 };
  const late: net.Socket[] = [];
  const d = new Deadlines((s) => late.push(s), 1_000, () => clock.t);
  const at = (t: number): Deadlines => {
    clock.t = t;
    return d;
  };
  return { d, late, at };
}

describe('Deadlines', () => {
  it('calls late for a socket whose deadline passed, once, and not for one cleared or not yet due', () => {
    const { d, late, at } = deadlines();
    const [a, b, c] = [socket('a'), socket('b'), socket('c')];
    d.set(a, 10_000);
    d.set(b, 10_000);
    at(5_000).set(c, 10_000);
    d.clear(b);
    at(9_999).sweep();
    expect(late).toEqual([]);
    at(10_000).sweep();
    expect(late).toEqual([a]);
    at(20_000).sweep();
    d.sweep();
    expect(late).toEqual([a, c]);
    expect(d.size).toBe(0);
  });

  it('a socket set again gets the new deadline', () => {
    const { d, late, at } = deadlines();
    const a = socket('a');
    d.set(a, 1_000);
    at(900).set(a, 1_000);
    at(1_500).sweep();
    expect(late).toEqual([]);
    at(1_900).sweep();
    expect(late).toEqual([a]);
  });
});
