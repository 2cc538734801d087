// schoolgate policy check [FILE]: validate a configuration's policy and say what it holds, or
// every problem with file, line and fix.
import { resolve } from 'node:path';
import { formatProblem } from '../config/errors.js';
import { loadCommandConfig } from './config.js';
import { allowedByOmission, guardedCategories } from '../policy/omissions.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'policy',
  summary: 'check a policy: every problem with file, line and fix',
  usage: 'policy check [FILE] [--config FILE]',
  details: 'Validates the configuration FILE (default: --config, config/default.yaml) and its policy:\nunknown categories or groups, windows that end before they start, overlapping contradictory\nschedules, illegal categories allowed. Exit code 2 when there are problems.\nWarns (exit code 0) when a group other than staff allows an inappropriate or safeguarding\ncategory (adult, suicide, grooming, …) only because its filter level does not name it.',
  options: COMMON_OPTIONS,
  help: COMMON_HELP,
  positionals: { min: 1, max: 2 },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS>;

export async function policyCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  if (positionals[0] !== 'check') throw new UsageError(`unknown policy action "${positionals[0]}": use check`);
  const { config, data } = paths(values);
  const file = positionals[1] === undefined ? config : resolve(positionals[1]);
  const cfg = loadCommandConfig(file, data);
  const groups = [...cfg.policy.groups.values()];
  io.out(`${file}: the policy is valid`);
  for (const w of cfg.warnings) io.err(`warning: ${formatProblem(w)}`);
  for (const g of groups) {
    io.out(`  ${g.id.padEnd(10)} ${g.label}: ${g.mode === 'allowlist' ? 'allow-list only' : 'filtered'}, ${count(g.levels.size, 'category level')}, ${count(g.schedules.length, 'schedule')}, ${count(g.sites.size, 'own site entry', 'own site entries')}${g.safeSearch.engines.size ? `, safe search on ${[...g.safeSearch.engines].join(', ')}` : ''}`);
  }
  io.out(`  ${cfg.policy.users.size} nominated users; SLT approval needed to unblock: ${[...cfg.policy.sltCategories].join(', ') || 'none'}`);
  // Valid is not the same as safe: an omission lets pupils in without anyone having decided it.
  for (const o of allowedByOmission(cfg.policy, guardedCategories(cfg.safeguarding.byListCategory.keys()))) {
    const them = o.categories.length === 1 ? 'it' : 'them';
    io.err(`warning: ${o.file}:${o.line}: policy.groups.${o.group}: ${o.label} can reach ${o.categories.join(', ')} by omission: `
      + `the filter level does not name ${them}, and categories it does not name are allowed. `
      + `Name ${them} under policy.groups.${o.group}.levels: block (or allow, to say it is meant)`);
  }
  return 0;
}

/** "1 schedule", "2 schedules". */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
