// Refreshes downloaded sources on their schedules inside a running Schoolgate. Checking a
// download (it must load, and not shrink) builds it in a child process, as a reload does, so
// the event loop never stalls on 1.7 M entries nor this process holds the build's memory; an
// accepted update triggers a reload.
import { statsInChild } from '../classify/build-child.js';
import type { ListSourceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { Scheduler } from './schedule.js';
import type { ListService } from './service.js';
import { sourceLists } from './sources.js';
import { readSourceState } from './source-state.js';
import { countOf, updateSource, type CountEntries } from './update.js';

/** Counts what loads from a candidate copy, building it in a child process. */
export function countInChild(source: ListSourceConfig, categoryOf: (name: string) => string | undefined): CountEntries {
  return async (location) => {
    const lists = sourceLists(source, location, categoryOf);
    return countOf(lists.specs, await statsInChild(lists.specs), lists.errors);
  };
}

export interface UpdateSchedule {
  stop(): Promise<void>;
}

export async function startUpdateSchedule(service: ListService, deps: { dataDir: string; log: Logger }): Promise<UpdateSchedule> {
  const sources = service.config.sources.filter((s) => s.url !== undefined && s.refresh !== null);
  const scheduled = await Promise.all(sources.map(async (s) => {
    const state = await readSourceState(deps.dataDir, s.name);
    return { name: s.name, refresh: s.refresh!, lastRunAt: state.lastAttemptAt ? new Date(state.lastAttemptAt) : null };
  }));
  const scheduler = new Scheduler(scheduled, async (name) => {
    // The source as configured now: a reload may have changed it since the schedule began.
    const source = service.config.sources.find((s) => s.name === name && s.url !== undefined);
    if (!source) return true;
    const outcome = await updateSource(source, deps.dataDir, {
      log: deps.log, now: () => new Date(),
      countEntries: countInChild(source, (n) => service.config.categories.categoryOf(n)),
    });
    if (outcome.status === 'updated') await service.reload(`update of ${name}`);
    return outcome.status !== 'refused';
  }, { now: () => new Date(), onError: (name, err) => deps.log.error({ source: name, err: String(err) }, 'scheduled list update failed; the lists in use stay in use') });
  scheduler.start();
  for (const s of scheduled) deps.log.info({ source: s.name, refresh: sources.find((x) => x.name === s.name)!.refresh!.label, next: scheduler.nextRunOf(s.name)?.toISOString() }, 'list refresh scheduled');
  return { stop: () => scheduler.stop() };
}
