// Whether anyone hears of a safeguarding alert, checked at every start and every reload. While
// the safeguarding file names nobody to tell, the log says so each time: alerts are still stored,
// and shown by `schoolgate alerts`, but no notification is delivered. Once someone can be told,
// everything that reached nobody meanwhile goes to them in one catch-up digest, rather than
// staying unread, or arriving as a flood of old alerts one message each.
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { nobodyToTell } from './recipients.js';

export interface UntoldSink {
  /** Writes the catch-up digest of untold notifications; its outbox row, or null when there were none. */
  tellUntold(): number | null;
}

export interface ConfigSource {
  readonly config: SchoolgateConfig;
  onReload(listener: (config: SchoolgateConfig) => void): void;
}

/** Checks now and after each reload. */
export function watchRecipients(alerts: UntoldSink, source: ConfigSource, log: Logger): void {
  checkRecipients(alerts, source.config, log);
  source.onReload((config) => checkRecipients(alerts, config, log));
}

/** Warns while nobody can be told; otherwise sends what nobody was told. True when someone can be told. */
export function checkRecipients(alerts: UntoldSink, config: SchoolgateConfig, log: Logger): boolean {
  const sg = config.safeguarding;
  const nobody = nobodyToTell(sg.recipients, sg.email !== null);
  if (nobody !== null) {
    log.warn({ file: sg.file }, `safeguarding alerts: nobody will be told: ${nobody}. Alerts are stored and listed by "schoolgate alerts list", `
      + 'but no DSL hears of them until the safeguarding file names one (README.md, "Notifications")');
    return false;
  }
  const digest = alerts.tellUntold();
  if (digest !== null) log.info({ outbox: digest }, 'safeguarding alerts: a recipient is set up now; what nobody was told about goes to them in a catch-up digest');
  return true;
}
