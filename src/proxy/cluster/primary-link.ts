// A proxy worker's end of the IPC channel to the primary process (proxy.workers): what it is
// told (the start state, other workers' changes, reloads, stop) as events; what it sends, sent
// only while the channel is open (a primary that has died is noticed through 'stop').
import { EventEmitter } from 'node:events';
import { isToWorker, type ToPrimary, type ToWorker } from './messages.js';

type Start = Extract<ToWorker, { type: 'start' }>;

export class PrimaryLink extends EventEmitter<{ memory: [name: string, change: unknown]; reload: [reason: string, tables: string | undefined]; 'forget-sign-ins': []; stop: [why: string] }> {
  private readonly started: Promise<Start>;

  constructor() {
    super();
    let started = (_: Start): void => undefined;
    this.started = new Promise((resolve) => (started = resolve));
    process.on('message', (m: unknown) => {
      if (!isToWorker(m)) return;
      if (m.type === 'start') started(m);
      else if (m.type === 'memory') this.emit('memory', m.name, m.change);
      else if (m.type === 'reload') this.emit('reload', m.reason, m.tables);
      else if (m.type === 'forget-sign-ins') this.emit('forget-sign-ins');
      else this.emit('stop', 'the primary process is stopping');
    });
    // The primary died (kill -9): nobody would write this worker's traffic or replace it.
    process.once('disconnect', () => this.emit('stop', 'the primary process is gone'));
  }

  /** Asks for the start state (the memories so far, where traffic ids go on from). */
  hello(): Promise<Start> {
    this.send({ type: 'hello' });
    return this.started;
  }

  send(m: ToPrimary): void {
    if (process.connected) process.send!(m, undefined, {}, () => undefined);
  }

  /** Sends and resolves once the message is handed to the channel (before the worker exits). */
  last(m: ToPrimary): Promise<void> {
    if (!process.connected) return Promise.resolve();
    return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
  }

  disconnect(): void {
    if (process.connected) process.disconnect();
  }
}
