// The pages a person sees from the proxy instead of a site: the block page, the warn page with
// its "continue" button, the "report a concern" form, and plain messages (the site failed).
// URLs in them are attacker-chosen, so everything is escaped. Illegal-list blocks show only the
// IWF-style splash text and where to get help: nothing about the site, and no way to ask for it.
import type { Decision } from '../policy/types.js';

export interface Page {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ILLEGAL_TEXT = 'Access has been denied by your network administrator. This page may contain indecent images of children as identified by the Internet Watch Foundation, or other content that is illegal in the UK.';
const HELP_TEXT = 'If you are worried about something you have seen online, talk to a teacher or your school\'s Designated Safeguarding Lead. You can also report it to the Internet Watch Foundation (iwf.org.uk) or get support from Childline (0800 1111).';

/** A paragraph, a link, or a form posting hidden fields (with an optional text box). */
type Part =
  | string
  | { readonly link: string; readonly text: string }
  | { readonly form: string; readonly fields: Readonly<Record<string, string>>; readonly button: string; readonly textarea?: string };

interface PageInput {
  readonly school: string;
  /** True when the client accepts HTML; otherwise plain text. */
  readonly html: boolean;
}

function render(input: PageInput, status: number, title: string, parts: readonly Part[]): Page {
  if (!input.html) {
    const text = parts.map((p) => typeof p === 'string' ? p : 'link' in p ? `${p.text}: ${p.link}` : null).filter((p) => p !== null);
    return { status, contentType: 'text/plain; charset=utf-8', body: `${text.join('\n')}\n` };
  }
  const html = parts.map((p) => {
    if (typeof p === 'string') return `<p>${escapeHtml(p)}</p>`;
    if ('link' in p) return `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.text)}</a></p>`;
    const hidden = Object.entries(p.fields).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    const box = p.textarea === undefined ? '' : `<p><label>${escapeHtml(p.textarea)}<br><textarea name="text" rows="5" cols="50" maxlength="2000" required></textarea></label></p>`;
    return `<form method="post" action="${escapeHtml(p.form)}">${hidden}${box}<p><button type="submit">${escapeHtml(p.button)}</button></p></form>`;
  }).join('\n');
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.5rem}a,p{overflow-wrap:anywhere}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p><small>${escapeHtml(input.school)}</small></p>
${html}
</body></html>
`;
  return { status, contentType: 'text/html; charset=utf-8', body };
}

export interface BlockPageInput extends PageInput {
  readonly url: string;
  readonly decision: Decision;
  /** Reference quoted when reporting a problem with the block (finds it in the log). */
  readonly reference: string;
  /** The "report a concern" form on the proxy's own pages. */
  readonly concernUrl: string;
  /** The staff web app's unblock request form, pre-filled; absent when none is configured. */
  readonly unblockUrl?: string;
}

export function blockPage(input: BlockPageInput): Page {
  const { decision: d } = input;
  if (d.rule.kind === 'illegal') return render(input, 403, 'Access denied', [ILLEGAL_TEXT, HELP_TEXT]);
  const unblock = d.unblockBy === 'technician' ? 'Staff can ask for this page to be unblocked for a lesson.'
    : d.unblockBy === 'slt' ? 'Staff can ask for this page to be unblocked; a senior leader must approve it.' : '';
  const parts: Part[] = [
    `${input.school} has blocked this page.`,
    `Address: ${input.url}`,
    `Category: ${d.categories.length ? d.categories.join(', ') : 'none'}`,
    `Why: ${d.rule.text}`,
    `Reference: ${input.reference}`,
  ];
  if (unblock) parts.push(input.unblockUrl ? { link: input.unblockUrl, text: `${unblock} Request an unblock` } : unblock);
  parts.push(
    'If this page should not be blocked, or something you saw worries you, tell a teacher and quote the reference above.',
    { link: input.concernUrl, text: 'Report a concern' },
  );
  return render(input, 403, 'This page is blocked', parts);
}

export interface WarnPageInput extends PageInput {
  readonly url: string;
  readonly decision: Decision;
  readonly reference: string;
  /** Where the "continue" form posts, and the signed token it carries. */
  readonly continueUrl: string;
  readonly token: string;
  readonly rememberMinutes: number;
  readonly concernUrl: string;
}

/**
 * A warning the person may click through. Status 403 so that nothing caches it as the site;
 * the continue button posts to the proxy's own pages, which remember the choice and send the
 * browser back to the URL.
 */
export function warnPage(input: WarnPageInput): Page {
  const { decision: d } = input;
  const remember = input.rememberMinutes > 0 ? ` Your choice is remembered for ${input.rememberMinutes} minutes and is recorded.` : ' Your choice is recorded.';
  return render(input, 403, 'Are you sure?', [
    `${input.school} asks you to think before opening this page.`,
    `Address: ${input.url}`,
    `Category: ${d.categories.length ? d.categories.join(', ') : 'none'}`,
    `Why: ${d.rule.text}`,
    `If you continue, use it for your school work.${remember}`,
    { form: input.continueUrl, fields: { token: input.token, url: input.url }, button: 'Continue to the page' },
    { link: input.concernUrl, text: 'Report a concern' },
  ]);
}

export interface ConcernFormInput extends PageInput {
  readonly action: string;
  readonly reference: string;
  readonly url: string;
}

/** The "report a concern" form: anyone may tell the school's safeguarding team what worries them. */
export function concernForm(input: ConcernFormInput): Page {
  return render(input, 200, 'Report a concern', [
    'Tell the school\'s safeguarding team what worries you. They will read it. You can also talk to a teacher.',
    { form: input.action, fields: { ref: input.reference, url: input.url }, button: 'Send', textarea: 'What worries you?' },
    HELP_TEXT,
  ]);
}

export interface MessagePageInput extends PageInput {
  readonly status: number;
  readonly title: string;
  readonly lines: readonly string[];
}

export function messagePage(input: MessagePageInput): Page {
  return render(input, input.status, input.title, input.lines);
}

export interface CaPageInput extends PageInput {
  /** Where the root certificate is downloaded (DER, which every platform's installer opens). */
  readonly certUrl: string;
  readonly pemUrl: string;
  /** SHA-256 fingerprint, for checking the file before trusting it. */
  readonly fingerprint: string;
}

/**
 * How to trust the school's certificate on each kind of device. Served over plain HTTP: a device
 * that does not yet trust the CA must be able to read it.
 */
export function caInstallPage(input: CaPageInput): Page {
  return render(input, 200, 'Install the school\'s certificate', [
    'Schoolgate checks secure (HTTPS) sites for the school. For it to do that without warnings, each school device must trust the school\'s own certificate. Only install it on devices the school manages.',
    { link: input.certUrl, text: 'Download the certificate (schoolgate-ca.crt)' },
    { link: input.pemUrl, text: 'The same certificate as PEM text (for Linux, Firefox and device management)' },
    `Check its SHA-256 fingerprint before trusting it: ${input.fingerprint}`,
    'Windows: open the downloaded file, choose Install Certificate, Local Machine, "Place all certificates in the following store", Trusted Root Certification Authorities. For many PCs use Group Policy: Computer Configuration, Windows Settings, Security Settings, Public Key Policies, Trusted Root Certification Authorities, Import.',
    'macOS: open the file to add it to the System keychain in Keychain Access, then open it there, expand Trust and set "When using this certificate" to Always Trust. For many Macs use a configuration profile from your device management.',
    'ChromeOS: in the Google Admin console, Devices, Networks, Certificates, upload the certificate and tick "Use this certificate as an HTTPS certificate authority" for the organisational unit. On one Chromebook: Settings, Privacy and security, Security, Manage certificates, Authorities, Import, and tick "Trust this certificate for identifying websites".',
    'iPad and iPhone: open the certificate link in Safari and allow the profile download, install it in Settings, General, VPN and Device Management, then turn it on in Settings, General, About, Certificate Trust Settings. For many iPads push it with your device management (Apple School Manager, Jamf, Intune).',
    'Firefox uses its own list unless security.enterprise_roots.enabled is on (the default on Windows and macOS for certificates installed as above).',
  ]);
}
