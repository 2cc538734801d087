// HTML for the staff app, escaped by default: every value put into a template is escaped unless
// it is itself markup made by `html` (or `raw`, for the few fixed strings that need it). URLs,
// search terms, reasons and names all come from outside; none can become markup.
import { escapeHtml } from '../proxy/pages.js';
import type { Role } from '../store/user-rules.js';
import { MATRIX_STYLE } from './matrix-style.js';

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = string | number | boolean | null | undefined | Html | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** A template whose interpolations are escaped (arrays are joined; null, undefined and false vanish). */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => { out += render(v) + strings[i + 1]!; });
  return new Html(out);
}

/** Fixed markup written in our own code. Never for anything that came from a request or the database. */
export function raw(text: string): Html {
  return new Html(text);
}

export interface Viewer {
  readonly username: string;
  readonly displayName: string | null;
  readonly roles: readonly Role[];
  readonly csrf: string;
}

/** Links in the header, for the roles that may use them. */
const NAV: readonly { href: string; text: string; roles: readonly Role[] }[] = [
  { href: '/unblocks', text: 'Unblock requests', roles: ['teacher', 'technician', 'slt'] },
  { href: '/unblocks/new', text: 'Ask for an unblock', roles: ['teacher', 'technician', 'slt', 'dsl'] },
  { href: '/policy', text: 'Filter levels', roles: ['technician', 'slt', 'governor'] },
  { href: '/test-url', text: 'Test a URL', roles: ['technician', 'slt', 'dsl', 'teacher'] },
  { href: '/reports/unblocks', text: 'Unblock report', roles: ['technician', 'slt', 'dsl', 'governor'] },
];

const STYLE = raw(`body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#1b1b1b;background:#fff;line-height:1.5;font-size:1.05rem}
header{background:#0b3d5c;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
header a{color:#fff}header .who{margin-left:auto}main{max-width:60rem;margin:0 auto;padding:1rem}
a{color:#0b57a4}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f5a300;outline-offset:2px}
label{display:block;font-weight:600;margin-top:.8rem}input,select,textarea{font:inherit;padding:.4rem;border:1px solid #555;border-radius:4px;max-width:100%}
textarea{width:100%}button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #0b3d5c;background:#0b3d5c;color:#fff;cursor:pointer;margin-top:.8rem}
button.secondary{background:#fff;color:#0b3d5c}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.notice{border-left:5px solid #0b57a4;background:#eef4fb;padding:.6rem 1rem}.error{border-left:5px solid #b00020;background:#fdecee;padding:.6rem 1rem}
.muted{color:#555}.locked{color:#555;font-style:italic}fieldset{border:1px solid #ccc;border-radius:4px;margin-top:1rem}
@media (max-width:40rem){table,thead,tbody,th,td{display:block;border:0}tr{display:block;border-bottom:1px solid #ccc;padding:.4rem 0}input{box-sizing:border-box}}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:0 .8rem}.fields label{font-weight:600;margin-top:.4rem}
.fields input{display:block;width:100%;box-sizing:border-box}.fields .wide{grid-column:1/-1}${MATRIX_STYLE}`);

/** A whole page: the school's name, the navigation the viewer's roles allow, and the content. */
export function page(opts: { title: string; school: string; viewer: Viewer | null; body: Html; status?: number }): Html {
  const v = opts.viewer;
  const nav = v ? NAV.filter((n) => n.roles.some((r) => v.roles.includes(r))) : [];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title === 'Schoolgate' ? 'Schoolgate' : `${opts.title} · Schoolgate`}</title><style>${STYLE}</style></head>
<body><header><strong>Schoolgate · ${opts.school}</strong>
${nav.map((n) => html`<a href="${n.href}">${n.text}</a>`)}
${v ? html`<span class="who">${v.displayName ?? v.username} (${v.roles.join(', ')})</span>
<form method="post" action="/logout" style="margin:0"><input type="hidden" name="_csrf" value="${v.csrf}"><button class="secondary" style="margin:0">Sign out</button></form>` : null}
</header>
<main id="main"><h1>${opts.title}</h1>
${opts.body}
</main></body></html>
`;
}

/** A hidden field with the session's CSRF token, for every form that changes something. */
export function csrfField(v: Viewer): Html {
  return html`<input type="hidden" name="_csrf" value="${v.csrf}">`;
}

/** A date and time in the school's time zone, e.g. "Mon 23 Nov 2026, 14:05". */
export function when(d: Date | null, timeZone: string): string {
  if (d === null) return '';
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}
