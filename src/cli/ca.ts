// schoolgate ca init|export|rotate|show: the school's root certificate authority for HTTPS
// inspection. Only ever the certificate is printed or exported; the private keys stay in
// <data>/ca, owner-only, and no action here reads them out.
import { writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { loadCommandConfig } from './config.js';
import { signalReload } from './reload-signal.js';
import { CA_FILES, CaError, caFolder, initCa, loadCa, rotateCa, type SchoolCa } from '../tls/ca.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const EXPORT_OPTIONS = { ...COMMON_OPTIONS, der: { type: 'boolean' }, pem: { type: 'boolean' }, out: { type: 'string', short: 'o' } } as const;
const ROTATE_OPTIONS = { ...COMMON_OPTIONS, 'grace-days': { type: 'string' } } as const;
const MAX_GRACE_DAYS = 3650;

const specs = {
  init: {
    name: 'ca init',
    summary: 'make the school\'s root CA for HTTPS inspection (once)',
    usage: 'ca init [--config FILE] [--data DIR]',
    details: 'Makes DIR/ca/root.crt (the certificate devices must trust), its private key root.key, and\nleaf.key (the key of every certificate the proxy makes). The name on the root is the\nconfiguration\'s school.name. Refuses when a CA exists already: use "ca rotate" to replace one.',
    options: COMMON_OPTIONS,
    help: COMMON_HELP,
  },
  export: {
    name: 'ca export',
    summary: 'write out the root certificate, to deploy to devices',
    usage: 'ca export [--pem | --der] [--out FILE] [--config FILE] [--data DIR]',
    details: 'PEM (text) to standard output unless told otherwise. DER (binary, the .cer/.crt file that\nWindows, Google Admin and most MDM tools take) needs --out FILE, or standard output that is not\na terminal (a pipe or a redirect). Only the certificate is exported, never a key.',
    options: EXPORT_OPTIONS,
    help: { ...COMMON_HELP, der: 'binary DER', pem: 'PEM text (the default)', out: 'write to FILE instead of standard output' },
  },
  rotate: {
    name: 'ca rotate',
    summary: 'replace the root CA, with a grace period for devices that have only the old one',
    usage: 'ca rotate [--grace-days N] [--config FILE] [--data DIR]',
    details: [
      'Makes a new root and leaf key. The proxy signs with the new root from its next start; for N',
      'days (default 30) it also sends a cross-certificate, the new root signed by the old, so a',
      'device that trusts only the old root keeps working while the new one is deployed. After N',
      'days such a device gets certificate errors. Rotating again within the grace period drops',
      'the oldest root. Use it when the root key may have been copied, or before the root expires.',
    ].join('\n'),
    options: ROTATE_OPTIONS,
    help: { ...COMMON_HELP, 'grace-days': `days devices that trust only the old root keep working (default tls.rotationGraceDays, 30; 0 for none)` },
  },
  show: {
    name: 'ca show',
    summary: 'the root\'s name, fingerprint, validity and any rotation in progress',
    usage: 'ca show [--config FILE] [--data DIR]',
    details: 'Compare the SHA-256 fingerprint with the one a device shows for "Schoolgate Root CA" to\ncheck it trusts this root.',
    options: COMMON_OPTIONS,
    help: COMMON_HELP,
  },
} as const satisfies {
  init: CommandSpec<typeof COMMON_OPTIONS>; export: CommandSpec<typeof EXPORT_OPTIONS>;
  rotate: CommandSpec<typeof ROTATE_OPTIONS>; show: CommandSpec<typeof COMMON_OPTIONS>;
};

type Action = keyof typeof specs;

function overview(): string {
  return [
    'schoolgate ca - the school\'s root certificate authority for HTTPS inspection',
    '',
    'Usage: schoolgate ca ACTION [options]',
    '',
    'Actions:',
    ...Object.entries(specs).map(([action, s]) => `  ${action.padEnd(8)} ${s.summary}`),
    '',
    'Run "schoolgate ca ACTION --help" for each. Every action takes --config FILE and --data DIR;',
    'the CA is kept in DIR/ca, readable by its owner only.',
  ].join('\n');
}

/** `stdout` takes the binary of "ca export --der" (Io carries text only). */
export async function caCommand(argv: string[], io: Io, stdout: NodeJS.WriteStream = process.stdout): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    io.out(overview());
    return action === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(specs, action)) throw new UsageError(`unknown ca action "${action}": use ${Object.keys(specs).join(', ')}\nRun "schoolgate ca --help" for usage.`);
  try {
    return run(action as Action, rest, io, stdout);
  } catch (err) {
    // Damaged files, a key others can read, a CA that exists already: say what and the fix, no stack.
    if (err instanceof CaError) return io.err(`schoolgate ca ${action}: ${err.message}`), 1;
    throw err;
  }
}

function run(action: Action, argv: string[], io: Io, stdout: NodeJS.WriteStream): number {
  switch (action) {
    case 'init': {
      const spec = specs.init;
      const { values, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      const { config, data } = paths(values);
      const ca = initCa(data, { schoolName: loadCommandConfig(config, data).school.name });
      io.out([
        `made the school's root CA in ${ca.dir}:`,
        `  ${CA_FILES.rootCert.padEnd(9)} the certificate every device must trust (public)`,
        `  ${CA_FILES.rootKey.padEnd(9)} its private key: owner-only; back it up somewhere safe, never onto a device`,
        `  ${CA_FILES.leafKey.padEnd(9)} the key of the certificates the proxy makes for each site (owner-only)`,
        '',
        describe(ca.certPem),
        '',
        'Next, deploy the root to every device that goes through the proxy as a trusted root CA:',
        '  schoolgate ca export --der --out schoolgate-root.cer',
        '  Windows: Group Policy or Intune, "Trusted Root Certification Authorities"',
        '  Chromebooks: Google Admin console, Devices > Networks > Certificates, "Chromebook" and',
        '    "Use this certificate as an HTTPS certificate authority"',
        '  iPads and Macs: an MDM profile with a certificate payload',
        '  Firefox uses its own store unless the enterprise policy ImportEnterpriseRoots is on.',
        'Check a device with the SHA-256 fingerprint above.',
      ].join('\n'));
      // A running Schoolgate starts inspecting new tunnels at once; none running picks it up at start.
      if (!signalReload(data, io, { quietIfNone: true, what: 'and start HTTPS inspection with this CA' })) io.out('Schoolgate is not running here: it will use this CA when it starts.');
      return 0;
    }
    case 'export': {
      const spec = specs.export;
      const { values, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      if (values.der && values.pem) throw new UsageError('give --der or --pem, not both');
      const ca = requireCa(paths(values).data);
      if (values.out !== undefined) {
        const file = resolve(values.out);
        writeFileSync(file, values.der ? ca.certDer : ca.certPem);
        io.out(`wrote the root certificate to ${file} (${values.der ? 'DER' : 'PEM'}); SHA-256 ${new X509Certificate(ca.certDer).fingerprint256}`);
      } else if (values.der) {
        if (stdout.isTTY) throw new UsageError('--der is binary: give --out FILE, or redirect standard output to a file');
        stdout.write(ca.certDer);
      } else {
        io.out(ca.certPem);
      }
      return 0;
    }
    case 'rotate': {
      const spec = specs.rotate;
      const { values, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      if (!/^\d+$/.test(values['grace-days'] ?? '0') || Number(values['grace-days'] ?? 0) > MAX_GRACE_DAYS) {
        throw new UsageError(`--grace-days: "${values['grace-days']}" is not a whole number of days from 0 to ${MAX_GRACE_DAYS}`);
      }
      const { config, data } = paths(values);
      const loaded = loadCommandConfig(config, data);
      const schoolName = loaded.school.name;
      const graceDays = values['grace-days'] === undefined ? loaded.tls.rotationGraceDays : Number(values['grace-days']);
      const ca = rotateCa(data, { schoolName, graceDays });
      io.out(`made a new root CA in ${ca.dir}:\n\n${describe(ca.certPem)}\n`);
      io.out(ca.previous
        ? [
          `Until ${ca.previous.graceUntil.toISOString()} devices that trust only the old root keep working:`,
          'each handshake also sends the new root signed by the old one. Deploy the new root before then',
          '(schoolgate ca export --der --out schoolgate-root.cer).',
        ].join('\n')
        : 'No grace period: devices that trust only the old root get certificate errors from now on.\nDeploy it now (schoolgate ca export --der --out schoolgate-root.cer).');
      // New tunnels are signed with the new root at once; tunnels already open keep the old one.
      if (!signalReload(data, io, { quietIfNone: true, what: 'and sign with the new root' })) io.out('Schoolgate is not running here: it will sign with the new root when it starts.');
      return 0;
    }
    case 'show': {
      const spec = specs.show;
      const { values, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      const ca = requireCa(paths(values).data);
      const lines = [`root CA in ${ca.dir}`, describe(ca.certPem)];
      if (ca.previous) {
        const days = Math.ceil((ca.previous.graceUntil.getTime() - Date.now()) / 86_400_000);
        lines.push('', `rotation: in its grace period until ${ca.previous.graceUntil.toISOString()} (${days} day${days === 1 ? '' : 's'} left);`,
          'devices that trust only the previous root work until then:', indent(describe(ca.previous.certPem)));
      } else {
        lines.push('', 'rotation: none in progress');
      }
      io.out(lines.join('\n'));
      return 0;
    }
  }
}

function requireCa(data: string): SchoolCa {
  const ca = loadCa(data);
  if (ca === null) throw new CaError(`there is no root CA in ${caFolder(data)}: run "schoolgate ca init" (is --data right?)`);
  return ca;
}

/** Subject, fingerprint and validity of a certificate, as a technician compares them with a device. */
function describe(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return [
    `subject:  ${cert.subject.split('\n').join(', ')}`,
    `SHA-256:  ${cert.fingerprint256}`,
    `valid:    ${new Date(cert.validFrom).toISOString()} to ${new Date(cert.validTo).toISOString()}`,
  ].join('\n');
}

const indent = (text: string): string => text.split('\n').map((l) => `  ${l}`).join('\n');
