// The schoolgate command line: one subcommand per job, each with --help. Errors end with a
// message a technician can act on and exit code 2 (usage or configuration) or 1 (anything else).
import { ConfigError } from '../config/errors.js';
import { UrlError } from '../classify/normalise-url.js';
import { CaError } from '../tls/ca-error.js';
import { processIo, UsageError, type Io } from './command.js';
import { ListenError } from '../proxy/listen.js';

type Command = (argv: string[], io: Io) => Promise<number>;

// Each command's module is imported when that command runs, not before: together they pull in
// Fastify, BullMQ, undici and the rest, which took most of a second to load for every command.
const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  start: { summary: 'run Schoolgate in the foreground (npm start)', load: async () => (await import('./start.js')).startCommand },
  classify: { summary: 'show what the classifier says about a URL, and why', load: async () => (await import('./classify.js')).classifyCommand },
  lists: { summary: 'report, update or reload the blocklists', load: async () => (await import('./lists.js')).listsCommand },
  explain: { summary: 'the decision for a URL for a group, and the rules behind it', load: async () => (await import('./explain.js')).explainCommand },
  policy: { summary: 'check a policy (policy check [FILE])', load: async () => (await import('./policy.js')).policyCommand },
  users: { summary: 'add, list, disable or import the users who sign in to the proxy', load: async () => (await import('./users.js')).usersCommand },
  audit: { summary: 'verify the audit chain (audit verify), or list its newest rows (audit list)', load: async () => (await import('./audit.js')).auditCommand },
  export: { summary: 'one person\'s or device\'s traffic over a time range, as CSV or JSON', load: async () => (await import('./export.js')).exportCommand },
  alerts: { summary: 'list, open, acknowledge, escalate or close safeguarding alerts; record incidents', load: async () => (await import('./alerts.js')).alertsCommand },
  phrases: { summary: 'list the safeguarding phrases; add, re-weight or remove the DSL\'s own (audited, live within a second)', load: async () => (await import('./phrases.js')).phrasesCommand },
  digest: { summary: 'when the safeguarding digests go, or send one now (digest --send-now)', load: async () => (await import('./digest.js')).digestCommand },
  ca: { summary: 'the school\'s root CA for HTTPS inspection: init, export, rotate, show', load: async () => (await import('./ca.js')).caCommand },
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
    const run = await command.load();
    return await run(rest, io);
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
