// Whether a tunnel is decrypted: a pure function of the group's rule, the never-intercept list
// and the tunnel's decision, so `explain` and the proxy give the same answer.
import type { NormalisedUrl } from '../classify/normalise-url.js';
import type { TlsConfig } from './config.js';

export type InterceptChoice =
  | { readonly intercept: true; readonly reason: string }
  | { readonly intercept: false; readonly reason: string };

export interface TunnelFacts {
  readonly group: string;
  readonly url: NormalisedUrl;
  readonly categories: readonly string[];
  /** The search engine the host belongs to (search-engines.yaml), or null. */
  readonly searchEngine: string | null;
  /** The host's decision refuses the tunnel (block, or a warn not yet clicked through). */
  readonly refused: boolean;
}

export function chooseInterception(t: TunnelFacts, tls: TlsConfig): InterceptChoice {
  const rule = tls.intercept.get(t.group);
  if (!rule) return { intercept: false, reason: `the ${t.group} group is not inspected` };
  // Nothing reaches a refused host either way: decrypting only lets the browser show why.
  if (t.refused) return rule.blockPages ? { intercept: true, reason: 'to show the block page' } : { intercept: false, reason: 'refused without a page (blockPages: false)' };
  const neverCategory = t.categories.find((c) => tls.never.categories.has(c));
  if (neverCategory !== undefined) return { intercept: false, reason: `never inspected (${neverCategory})` };
  const neverSite = tls.never.sites.find(t.url);
  if (neverSite) return { intercept: false, reason: `never inspected (site ${neverSite.entry})` };
  if (rule.all) return { intercept: true, reason: `the ${t.group} group is inspected on every site` };
  if (rule.searchEngines && t.searchEngine !== null) return { intercept: true, reason: `search engine ${t.searchEngine}: its search terms are read for ${t.group}` };
  const category = t.categories.find((c) => rule.categories.has(c));
  if (category !== undefined) return { intercept: true, reason: `category ${category} is inspected for ${t.group}` };
  const site = rule.sites.find(t.url);
  if (site) return { intercept: true, reason: `site ${site.entry} is inspected for ${t.group}` };
  return { intercept: false, reason: `not in the ${t.group} group's inspected categories or sites` };
}
