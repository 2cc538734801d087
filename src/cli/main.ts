// The schoolgate command line: one subcommand per job, each with --help. Errors end with a
// message a technician can act on and exit code 2 (usage or configuration) or 1 (anything else).
import { ConfigError } from '../config/errors.js';
import { UrlError } from '../classify/normalise-url.js';
import { CaError } from '../tls/ca.js';
import { alertsCommand } from './alerts.js';
import { auditCommand } from './audit.js';
import { caCommand } from './ca.js';
import { classifyCommand } from './classify.js';
import { digestCommand } from './digest.js';
import { explainCommand } from './explain.js';
import { exportCommand } from './export.js';
import { phrasesCommand } from './phrases.js';
import { policyCommand } from './policy.js';
import { processIo, UsageError, type Io } from './command.js';
import { ListenError } from '../proxy/listen.js';
import { listsCommand } from './lists.js';
import { startCommand } from './start.js';
import { usersCommand } from './users.js';

const COMMANDS: Readonly<Record<string, { summary: string; run: (argv: string[], io: Io) => Promise<number> }>> = {
  start: { summary: 'run Schoolgate in the foreground (npm start)', run: startCommand },
  classify: { summary: 'show what the classifier says about a URL, and why', run: classifyCommand },
  lists: { summary: 'report, update or reload the blocklists', run: listsCommand },
  explain: { summary: 'the decision for a URL for a group, and the rules behind it', run: explainCommand },
  policy: { summary: 'check a policy (policy check [FILE])', run: policyCommand },
  users: { summary: 'add, list, disable or import the users who sign in to the proxy', run: usersCommand },
  audit: { summary: 'verify the audit chain (audit verify), or list its newest rows (audit list)', run: auditCommand },
  export: { summary: 'one person\'s or device\'s traffic over a time range, as CSV or JSON', run: exportCommand },
  alerts: { summary: 'list, open, acknowledge, escalate or close safeguarding alerts; record incidents', run: alertsCommand },
  phrases: { summary: 'list the safeguarding phrases; add, re-weight or remove the DSL\'s own (audited, live within a second)', run: phrasesCommand },
  digest: { summary: 'when the safeguarding digests go, or send one now (digest --send-now)', run: digestCommand },
  ca: { summary: 'the school\'s root CA for HTTPS inspection: init, export, rotate, show', run: caCommand },
};

function usage(): string {
  return [
    'schoolgate - a web-filtering proxy for schools',
    '',
    'Usage: schoolgate <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '',
    'Every command takes --help, --config FILE (default config/default.yaml) and --data DIR (default data/).',
  ].join('\n');
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`schoolgate: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof ListenError) {
      io.err(`schoolgate ${name}: ${err.message}`);
      return 2;
    }
    // The CA's own errors say what to do (chmod, restore from backup): no stack trace.
    if (err instanceof CaError) {
      io.err(`schoolgate ${name}: ${err.message}`);
      return 1;
    }
    if (err instanceof UrlError) {
      io.err(`schoolgate ${name}: ${err.message}`);
      return 1;
    }
    io.err(`schoolgate ${name}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /(?:schoolgate(?:\.js)?|cli[/\\]main\.[jt]s)$/.test(process.argv[1]);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
