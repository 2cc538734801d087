// The page a person sees instead of a blocked site. The URL in it is attacker-chosen, so
// everything is escaped. Illegal-list blocks show only the IWF-style splash text and where to
// get help: nothing about the site, and no way to ask for it.
import type { Decision } from '../policy/types.js';

export interface BlockPage {
  readonly status: 403;
  readonly contentType: string;
  readonly body: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ILLEGAL_TEXT = 'Access has been denied by your network administrator. This page may contain indecent images of children as identified by the Internet Watch Foundation, or other content that is illegal in the UK.';
const HELP_TEXT = 'If you are worried about something you have seen online, talk to a teacher or your school\'s Designated Safeguarding Lead. You can also report it to the Internet Watch Foundation (iwf.org.uk) or get support from Childline (0800 1111).';

export interface BlockPageInput {
  readonly school: string;
  readonly url: string;
  readonly decision: Decision;
  /** Reference quoted when reporting a problem with the block (finds it in the log). */
  readonly reference: string;
  /** True when the client accepts HTML; otherwise plain text. */
  readonly html: boolean;
}

export function blockPage(input: BlockPageInput): BlockPage {
  const { decision: d } = input;
  const illegal = d.rule.kind === 'illegal';
  const lines = illegal
    ? [ILLEGAL_TEXT, HELP_TEXT]
    : [
      `${input.school} has blocked this page.`,
      `Address: ${input.url}`,
      `Category: ${d.categories.length ? d.categories.join(', ') : 'none'}`,
      `Why: ${d.rule.text}`,
      d.unblockBy === 'staff' ? 'Staff can ask for this page to be unblocked for a lesson.'
        : d.unblockBy === 'senior-leader' ? 'Staff can ask for this page to be unblocked; a senior leader must approve it.' : '',
      `If this page should not be blocked, or something worries you, tell a teacher and quote reference ${input.reference}.`,
    ].filter(Boolean);
  if (!input.html) return { status: 403, contentType: 'text/plain; charset=utf-8', body: `${lines.join('\n')}\n` };
  const title = illegal ? 'Access denied' : 'This page is blocked';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.5rem}code{word-break:break-all}</style>
</head><body>
<h1>${title}</h1>
${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
</body></html>
`;
  return { status: 403, contentType: 'text/html; charset=utf-8', body };
}
