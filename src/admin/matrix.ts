// The filter-level matrix as technicians read it: categories under headings that say how much
// each matters (illegal, safeguarding, inappropriate, distractions, the rest), each cell's action
// in colour and in words, what differs from the defaults marked (or shown alone), the header row
// kept in view, and each cell naming its group on a phone, where the columns become cards.
import type { CategoryInfo, CategoryRegistry } from '../classify/categories.js';
import type { SafeguardingConfig } from '../alerts/taxonomy.js';
import { Checker } from '../config/check.js';
import { YamlFile } from '../config/yaml.js';
import { compilePolicy } from '../policy/compile.js';
import type { Action, PolicySnapshot } from '../policy/types.js';
import { html, type Html } from './html.js';
import { levelOf } from './policy-edit.js';

export type SectionId = 'illegal' | 'safeguarding' | 'inappropriate' | 'distraction' | 'other';

export interface Section {
  readonly id: SectionId;
  readonly title: string;
  readonly note: string;
  readonly categories: readonly CategoryInfo[];
}

/**
 * Time-wasters rather than harms: what schools open at lunch or in golden time. The shipped
 * configuration's own categories are named here too; ids a school does not have are skipped.
 */
const DISTRACTIONS: ReadonlySet<string> = new Set(['games', 'social-networking', 'chat', 'shopping', 'video-streaming', 'sport', 'celebrity', 'manga', 'radio', 'astrology']);
/** Not on the UK Safer Internet Centre's list, but kept from pupils for the same reasons. */
const ALSO_INAPPROPRIATE: ReadonlySet<string> = new Set(['filter-avoidance', 'dating', 'cults', 'cheating']);

const TITLES: Readonly<Record<SectionId, { title: string; note: string }>> = {
  illegal: { title: 'Illegal', note: 'blocked for everyone, always; cannot be changed or unblocked' },
  safeguarding: { title: 'Safeguarding', note: 'visits and searches are reported to the DSL, whatever the level' },
  inappropriate: { title: 'Inappropriate', note: 'harmful content (the UK Safer Internet Centre’s list) and ways round the filter' },
  distraction: { title: 'Distractions', note: 'often opened at set times by a group’s schedules' },
  other: { title: 'Everything else', note: '' },
};

/** Every category under one heading, in the order of the headings. */
export function sectionsOf(categories: CategoryRegistry, safeguarding: SafeguardingConfig): Section[] {
  const of = (c: CategoryInfo): SectionId => {
    if (c.group === 'illegal') return 'illegal';
    if (c.group === 'safeguarding' || safeguarding.byListCategory.has(c.id)) return 'safeguarding';
    if (c.group === 'inappropriate' || ALSO_INAPPROPRIATE.has(c.id)) return 'inappropriate';
    if (DISTRACTIONS.has(c.id)) return 'distraction';
    return 'other';
  };
  const all = categories.all();
  return (Object.keys(TITLES) as SectionId[])
    .map((id) => ({ id, ...TITLES[id], categories: all.filter((c) => of(c) === id) }))
    .filter((s) => s.categories.length > 0);
}

/**
 * The policy of a configuration text (the defaults), compiled against today's categories; null
 * when it no longer compiles (a category or group it names has gone).
 */
export function policyOfText(file: string, text: string, categories: CategoryRegistry, timeZone: string): PolicySnapshot | null {
  try {
    const yaml = YamlFile.parse(file, text);
    const check = new Checker(yaml);
    const root = (yaml.value ?? {}) as { policy?: unknown };
    const policy = compilePolicy(check, root.policy, categories, timeZone);
    return check.problems.length === 0 ? policy : null;
  } catch {
    return null;
  }
}

export interface MatrixOptions {
  readonly policy: PolicySnapshot;
  readonly sections: readonly Section[];
  /** The defaults to compare with; null when there are none to compare with. */
  readonly defaults: PolicySnapshot | null;
  /** Only the categories where some group differs from the defaults. */
  readonly onlyChanged: boolean;
  /** Drop-downs for a technician; words for everyone else. */
  readonly editable: boolean;
}

const WORDS: Readonly<Record<Action, string>> = { allow: 'Allow', warn: 'Warn', block: 'Block' };
const ACTIONS: readonly Action[] = ['allow', 'warn', 'block'];

/** The default a cell differs from, or null when it is the same (or there is nothing to compare). */
function defaultOf(o: Pick<MatrixOptions, 'policy' | 'defaults'>, group: string, category: string): Action | null {
  if (!o.defaults?.groups.has(group)) return null;
  const was = levelOf(o.defaults, group, category);
  return was === levelOf(o.policy, group, category) ? null : was;
}

/** How many cells differ from the defaults. */
export function changedCells(o: Pick<MatrixOptions, 'policy' | 'sections' | 'defaults'>): number {
  let n = 0;
  for (const s of o.sections) for (const c of s.categories) for (const g of o.policy.groups.keys()) if (defaultOf(o, g, c.id) !== null) n++;
  return n;
}

export function renderMatrix(o: MatrixOptions): Html {
  const groups = [...o.policy.groups.values()];
  const cell = (group: string, label: string, category: string, locked: boolean): Html => {
    const action = locked ? 'block' : levelOf(o.policy, group, category);
    const was = locked ? null : defaultOf(o, group, category);
    const scheduled = o.policy.groups.get(group)!.schedules.filter((s) => s.categories.has(category)).map((s) => `${s.name}: ${s.categories.get(category)!.action}`);
    const notes = [
      scheduled.length ? html`<small class="note">${scheduled.join('; ')}</small>` : null,
      was ? html`<small class="note">default: ${WORDS[was].toLowerCase()}</small>` : null,
    ];
    // The group's name on each cell, for the phone layout where the header row is out of sight.
    const name = html`<span class="g" aria-hidden="true">${label}</span>`;
    const value = locked
      ? html`<span class="act">Block (locked)</span>`
      : o.editable
        ? html`<select class="act" name="level.${group}.${category}" aria-label="${category} for ${label}">${ACTIONS.map((a) => html`<option value="${a}"${a === action ? html` selected` : null}>${WORDS[a]}</option>`)}</select>`
        : html`<span class="act">${WORDS[action]}</span>`;
    return html`<td class="a-${action}${was ? ' changed' : ''}${locked ? ' locked' : ''}">${name}${value}${notes}</td>`;
  };
  const rows = o.sections.map((s) => {
    const shown = o.onlyChanged ? s.categories.filter((c) => groups.some((g) => defaultOf(o, g.id, c.id) !== null)) : s.categories;
    if (shown.length === 0) return null;
    return html`<tbody class="section-${s.id}"><tr class="section"><th colspan="${groups.length + 1}" scope="colgroup" id="section-${s.id}">${s.title}${s.note ? html` <small>${s.note}</small>` : null}</th></tr>
${shown.map((c) => html`<tr><th scope="row"><span class="cat">${c.label}</span> <code>${c.id}</code></th>${groups.map((g) => cell(g.id, g.label, c.id, s.id === 'illegal'))}</tr>`)}
</tbody>`;
  });
  const any = rows.some((r) => r !== null);
  return html`<table class="matrix"><thead><tr><th scope="col">Category</th>${groups.map((g) => html`<th scope="col">${g.label}${g.mode === 'allowlist' ? html`<small class="note">allow-list only: others blocked</small>` : null}</th>`)}</tr></thead>
${any ? rows : html`<tbody><tr><td colspan="${groups.length + 1}">Nothing differs from the defaults.</td></tr></tbody>`}
</table>`;
}
