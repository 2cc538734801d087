// Detection: which safeguarding concerns one request raises. Pure, and cheap when nothing is
// raised (most requests): the classification's list matches and flagged phrase categories are
// looked up in the taxonomy's maps, and only a request that touches one builds anything.
//
// Alerts come from the classification, whatever the filter did and whoever asked: staff too,
// and allowed, warned and blocked requests alike (the action is recorded). A request that hit
// an illegal list never carries its address, search term or list entry into any alert.
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import { urlText, type Classification, type PhraseSource, type SourcedScore } from '../classify/classifier.js';
import { WITHHELD, type Match } from '../classify/matcher.js';
import { pageSeverity, pageShare, scoreHits, severityOf } from '../classify/phrases.js';
import type { PostConcern } from '../classify/page-posts.js';
import type { LearnedScore, ModelEvidence } from '../classify/search-model.js';
import type { Action, Decision } from '../policy/types.js';
import { ExclusionSet } from './exclusions.js';
import {
  higherSeverity, lowerSeverity, SAFEGUARDING_CATEGORIES, SEVERITY_RANK, type SafeguardingCategory, type SafeguardingCategoryId,
  type SafeguardingConfig, type Severity,
} from './taxonomy.js';

export interface ListTrigger {
  readonly kind: 'list';
  readonly severity: Severity;
  /** The classifier category of the list ("adult", "iwf"). */
  readonly category: string;
  readonly list: string;
  /** The entry and its line; absent for sensitive (IWF-style) and illegal lists. */
  readonly entry?: string;
  readonly line?: number;
}

export interface PhraseTrigger {
  readonly kind: 'phrase';
  readonly severity: Severity;
  /** Found in the search term, the words of the address, or the page's text. */
  readonly source: PhraseSource;
  /** The phrase category ("suicide"). */
  readonly category: string;
  /** The rule as written ("@suicide-method + @self"). */
  readonly phrase: string;
  readonly weight: number;
  /** The words it matched, as read ("hang … myself"). */
  readonly matched?: string;
  /** The search term as typed (source search) or the address (source url); absent when the request hit an illegal list. */
  readonly text?: string;
  /**
   * Raised by the learned search model, not a list: `phrase` names its evidence, `weight` is
   * its probability (0–1) for the concern, or for the concern's danger class when it took a
   * concern the lists raised to danger; `matched` the words it weighed most, or, for a concern
   * it read in one post of a page, the post's words (trimmed).
   */
  readonly learned?: true;
}

export type AlertTrigger = ListTrigger | PhraseTrigger;

export interface AlertCandidate {
  readonly category: SafeguardingCategoryId;
  /** The highest severity of its triggers. */
  readonly severity: Severity;
  /** Raised by an illegal-list attempt: never excluded, never shows the address. */
  readonly illegal: boolean;
  /** What the filter did with the request. */
  readonly action: Action;
  readonly triggers: readonly AlertTrigger[];
  /** The search term; null when there is none or the request hit an illegal list. */
  readonly searchTerm: { readonly engine: string; readonly raw: string; readonly partial: boolean } | null;
  /** The address; null when the request hit an illegal list. */
  readonly url: string | null;
}

const NONE: readonly AlertCandidate[] = Object.freeze([]);
const CATEGORY_ORDER = new Map<string, number>(SAFEGUARDING_CATEGORIES.map((id, i) => [id, i]));

/**
 * One candidate per safeguarding category the request touches, most severe first. Exclusions
 * for `group` remove triggers (never illegal-list ones); a category left with none is dropped.
 */
export function detect(
  c: Classification, decision: Pick<Decision, 'action'>, cfg: SafeguardingConfig, exclusions: ExclusionSet, group: string,
): readonly AlertCandidate[] {
  if (!touches(c, cfg)) return NONE;
  return new Detection(c, cfg, exclusions, group).candidates(decision.action);
}

/** The dry run `schoolgate classify --json` reports: the categories and severities a request would raise, before exclusions. */
export function previewAlerts(c: Classification, cfg: SafeguardingConfig): { category: SafeguardingCategoryId; severity: Severity }[] {
  return alertsOf(dryRun(c, cfg));
}

/** What a request would raise if allowed, before exclusions: the dry run `schoolgate classify` shows. */
export function dryRun(c: Classification, cfg: SafeguardingConfig): readonly AlertCandidate[] {
  return detect(c, { action: 'allow' }, cfg, ExclusionSet.EMPTY, '');
}

/** The category and severity of each alert of a dry run, as previewAlerts gives them. */
export function alertsOf(candidates: readonly AlertCandidate[]): { category: SafeguardingCategoryId; severity: Severity }[] {
  return candidates.map((a) => ({ category: a.category, severity: a.severity }));
}

function categoryOfMatch(m: Match, cfg: SafeguardingConfig): SafeguardingCategory | undefined {
  // An illegal list raises its own concern, whatever a list name is mapped to.
  if (ILLEGAL_CATEGORIES.has(m.category)) return cfg.byListCategory.get(m.category);
  // A school's allow entry says the site is fine: no concern of its own.
  if (m.role === 'allow') return undefined;
  return cfg.byListName.get(m.list) ?? cfg.byListCategory.get(m.category);
}

function touches(c: Classification, cfg: SafeguardingConfig): boolean {
  for (const f of c.flagged) if (cfg.byPhraseCategory.has(f.category)) return true;
  if (c.learned) for (const l of c.learned) if (cfg.byPhraseCategory.has(l.category)) return true;
  if (c.posts) for (const p of c.posts) if (cfg.byPhraseCategory.has(p.category)) return true;
  for (const m of c.matches) if (categoryOfMatch(m, cfg) !== undefined) return true;
  return false;
}

class Detection {
  private readonly illegalHit: boolean;
  private urlExcluded: boolean | undefined;
  private readonly found = new Map<SafeguardingCategory, AlertTrigger[]>();

  constructor(
    private readonly c: Classification, private readonly cfg: SafeguardingConfig,
    private readonly exclusions: ExclusionSet, private readonly group: string,
  ) {
    this.illegalHit = c.matches.some((m) => ILLEGAL_CATEGORIES.has(m.category));
    for (const m of c.matches) {
      const cat = categoryOfMatch(m, cfg);
      if (cat) this.addList(cat, m);
    }
    for (const f of c.flagged) {
      const cat = cfg.byPhraseCategory.get(f.category);
      if (cat) this.addPhrases(cat, f);
    }
    // After the lists: the model adds a concern nothing else raised, at caution, and takes a
    // concern the lists raised to danger when its danger class is probable enough.
    if (c.learned) {
      const listed = new Set(this.found.keys());
      for (const l of c.learned) {
        const cat = cfg.byPhraseCategory.get(l.category);
        if (!cat || cat.illegal) continue;
        if (l.raises && !this.found.has(cat)) this.addLearned(cat, l);
        if (l.urgent && listed.has(cat)) this.promote(cat, l);
      }
    }
    // A concern the model read in one post of the page, that nothing above raised.
    if (c.posts) {
      for (const p of c.posts) {
        const cat = cfg.byPhraseCategory.get(p.category);
        if (!cat || cat.illegal) continue;
        if (!this.found.has(cat)) this.addPost(cat, p);
        else if (p.urgent) this.promotePost(cat, p);
      }
    }
  }

  candidates(action: Action): AlertCandidate[] {
    const term = this.c.searchTerm;
    const searchTerm = term === null || this.illegalHit ? null : { engine: term.engine, raw: term.raw, partial: term.partial };
    const url = this.illegalHit ? null : urlText(this.c.url);
    const out: AlertCandidate[] = [];
    for (const [cat, triggers] of this.found) {
      const severity = triggers.reduce<Severity>((s, t) => higherSeverity(s, t.severity), 'advisory');
      out.push({ category: cat.id, severity, illegal: triggers.some(isIllegal), action, triggers, searchTerm, url });
    }
    return out.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || CATEGORY_ORDER.get(a.category)! - CATEGORY_ORDER.get(b.category)!);
  }

  private push(cat: SafeguardingCategory, t: AlertTrigger): void {
    const list = this.found.get(cat);
    if (list) list.push(t);
    else this.found.set(cat, [t]);
  }

  private addList(cat: SafeguardingCategory, m: Match): void {
    if (ILLEGAL_CATEGORIES.has(m.category)) {
      this.push(cat, { kind: 'list', severity: 'danger', category: m.category, list: m.list });
      return;
    }
    if (this.excludedUrl()) return;
    const t: ListTrigger = m.entry === WITHHELD
      ? { kind: 'list', severity: cat.severity.list, category: m.category, list: m.list }
      : { kind: 'list', severity: cat.severity.list, category: m.category, list: m.list, entry: m.entry, line: m.line };
    this.push(cat, t);
  }

  /**
   * The triggers of one flagged category from one source. An exclusion removes the hits it
   * covers and the rest are scored again, so excluding the word that made a search an alert
   * drops it, while a search that still scores is raised at what it still scores. The
   * severity is the engine's, capped by the category's setting for the source.
   */
  private addPhrases(cat: SafeguardingCategory, f: SourcedScore): void {
    if (this.excludedUrl()) return;
    const term = this.c.searchTerm;
    const all = this.c.phrases.filter((h) => h.category === f.category && h.source === f.source);
    const kept = this.exclusions.size === 0 ? all : all.filter((h) => !this.exclusions.coversFound(h.matched.split(' … '), h.spans, h.read, this.group));
    let severity: Severity | null = f.severity;
    if (kept.length !== all.length) {
      // A page's concern keeps the share the whole page gave it (an information page's half).
      const share = f.source === 'page' ? pageShare(this.c.phrases.filter((h) => h.source === 'page')) : 1;
      severity = pageSeverity(severityOf(share * scoreHits(kept, f.source === 'page', f), f.caution, f.danger), share);
    }
    if (severity === null) return;
    const capped = lowerSeverity(severity, cat.severity[f.source]);
    const text = this.illegalHit ? undefined : f.source === 'search' && term !== null ? term.raw : urlText(this.c.url);
    // Negative weights are context, shown with the evidence but not triggers themselves.
    for (const hit of kept) {
      if (hit.weight <= 0) continue;
      this.push(cat, {
        kind: 'phrase', severity: capped, source: f.source, category: hit.category, phrase: hit.phrase, weight: hit.weight, matched: hit.matched,
        ...(text !== undefined ? { text } : {}),
      });
    }
  }

  /**
   * A concern from the learned model: at caution, capped by the category's search setting;
   * at danger (so capped) only when its danger class also reaches phrases.model.alone, a cut
   * no lower than `danger`, set by cross-validation so that few caution-labelled and almost no
   * benign searches reach it (bench/RESULTS.md, "The model raising danger on its own"). The
   * trigger then carries the danger class's probability and words, as a promotion does. A term
   * exclusion that covers one of its evidence words drops it: a word that holds the term, or
   * lies inside an occurrence of it ("hurt" in an excluded "hurt my self"), as for a phrase.
   */
  private addLearned(cat: SafeguardingCategory, l: LearnedScore): void {
    const danger = lowerSeverity('danger', cat.severity.search);
    if (l.alone && danger === 'danger') this.pushLearned(cat, l, danger, l.danger, l.dangerEvidence, learnedPhrase(l, true));
    else this.pushLearned(cat, l, lowerSeverity('caution', cat.severity.search), l.probability, l.evidence, learnedPhrase(l));
  }

  /**
   * A concern the lists raised, below danger, whose danger class the model finds probable
   * enough: a trigger at danger (capped by the category's search setting) with the words that
   * raised the danger class, so the DSL sees why. It only adds a trigger, so it never lowers
   * what the lists raised; exclusions drop it as they drop the model's own concern.
   */
  private promote(cat: SafeguardingCategory, l: LearnedScore): void {
    const severity = lowerSeverity('danger', cat.severity.search);
    const now = this.found.get(cat)!.reduce<Severity>((s, t) => higherSeverity(s, t.severity), 'advisory');
    if (SEVERITY_RANK[severity] <= SEVERITY_RANK[now]) return;
    this.pushLearned(cat, l, severity, l.danger, l.dangerEvidence, learnedPhrase(l, true));
  }

  private pushLearned(cat: SafeguardingCategory, l: LearnedScore, severity: Severity, probability: number, evidence: readonly ModelEvidence[], phrase: string): void {
    const term = this.c.searchTerm;
    if (term === null || evidence.length === 0 || this.excludedUrl()) return;
    if (this.exclusions.size > 0 && evidence.some((e) => this.exclusions.coversFound([e.text], [e], term.text, this.group))) return;
    this.push(cat, {
      kind: 'phrase', severity, source: 'search', category: l.category, phrase, weight: Math.round(probability * 100) / 100,
      matched: evidence.map((e) => e.text).join(' … '), learned: true, ...(this.illegalHit ? {} : { text: term.raw }),
    });
  }

  /**
   * A concern the model read in one post of a page: at caution, or at danger when the post's
   * danger class reached the page threshold too (`urgent`), capped by the category's page
   * setting, with the post's words as `matched` and the n-grams it weighed in `phrase`.
   * Exclusions drop it as they drop the model's concern in a search: the address, or a term
   * exclusion covering one of its evidence words.
   */
  private addPost(cat: SafeguardingCategory, p: PostConcern): void {
    this.pushPost(cat, p, lowerSeverity(p.urgent ? 'danger' : 'caution', cat.severity.page));
  }

  /** A concern the lists raised below danger, whose danger class one first-person post reaches the page threshold for. */
  private promotePost(cat: SafeguardingCategory, p: PostConcern): void {
    const severity = lowerSeverity('danger', cat.severity.page);
    const now = this.found.get(cat)!.reduce<Severity>((s, t) => higherSeverity(s, t.severity), 'advisory');
    if (SEVERITY_RANK[severity] > SEVERITY_RANK[now]) this.pushPost(cat, p, severity);
  }

  private pushPost(cat: SafeguardingCategory, p: PostConcern, severity: Severity): void {
    if (p.evidence.length === 0 || this.excludedUrl()) return;
    if (this.exclusions.size > 0 && p.evidence.some((e) => this.exclusions.coversFound([e.text], [e], p.read, this.group))) return;
    this.push(cat, {
      kind: 'phrase', severity, source: 'page', category: p.category, phrase: postPhrase(p),
      weight: Math.round(p.probability * 100) / 100, matched: p.post, learned: true, ...(this.illegalHit ? {} : { text: urlText(this.c.url) }),
    });
  }

  private excludedUrl(): boolean {
    return (this.urlExcluded ??= this.exclusions.size > 0 && this.exclusions.coversUrl(this.c.url, this.group));
  }
}

/**
 * How a model trigger reads: "learned model 0.83: 'cut my', 'deep', 'arm'" for the concern, and
 * "learned model, danger class 0.71: 'how', 'myself'" for its danger class (`danger`).
 */
export function learnedPhrase(l: LearnedScore, danger = false): string {
  const [label, p, evidence] = danger ? ['learned model, danger class', l.danger, l.dangerEvidence] : ['learned model', l.probability, l.evidence];
  return `${label} ${p.toFixed(2)}: ${evidence.map((e) => `'${e.text}'`).join(', ')}`;
}

/** How a post trigger reads: "learned model 0.98 on one post: 'my legs', 'thinner'". */
export function postPhrase(p: PostConcern): string {
  return `learned model ${p.probability.toFixed(2)} on one post: ${p.evidence.map((e) => `'${e.text}'`).join(', ')}`;
}

function isIllegal(t: AlertTrigger): boolean {
  return t.kind === 'list' && ILLEGAL_CATEGORIES.has(t.category);
}
