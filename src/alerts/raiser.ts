// Raising an alert as the proxy does it: detection on the request, then the journal (safe from a
// crash of the process the moment raise() returns; journal.ts), whose writer thread folds and
// stores it in data/alerts.db. The alert service uses one; so does each proxy worker process
// (proxy.workers), with a journal of its own, folding through the same data/alerts.db, while
// the delivery of notifications stays in the primary process.
import type { Classification } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Decision } from '../policy/types.js';
import { detect } from './detect.js';
import type { ExclusionSet } from './exclusions.js';
import type { AlertJournal } from './journal.js';
import type { AlertSink, RaiseInput } from './service.js';
import { foldRuleFor } from './store.js';

export class AlertRaiser implements AlertSink {
  constructor(readonly journal: AlertJournal, private readonly config: () => SchoolgateConfig, private readonly now: () => number = Date.now) {}

  raise(c: Classification, d: Decision, who: RaiseInput, exclusions: ExclusionSet): Promise<number | null> | null {
    const config = this.config();
    const candidates = detect(c, d, config.safeguarding, exclusions, who.group);
    if (candidates.length === 0) return null;
    // Folded under the configuration of this moment, however late (or often) it is stored.
    return this.journal.append({ at: this.now(), ...who }, candidates, candidates.map((x) => foldRuleFor(config.safeguarding, x.category)));
  }
}
