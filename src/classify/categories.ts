// Schoolgate's own category ids. They are fixed: config, logs, alerts, the UI and the docs all
// use them, so renaming one is a migration, not an edit. A school may add its own in the
// category map (config/categories.yaml); list names from UT1 and others map onto these.

export type CategoryGroup = 'illegal' | 'inappropriate' | 'school' | 'safeguarding' | 'custom';

export interface CategoryInfo {
  readonly id: string;
  readonly group: CategoryGroup;
  readonly label: string;
}

const c = (id: string, group: CategoryGroup, label: string): CategoryInfo => ({ id, group, label });

export const BUILTIN_CATEGORIES: readonly CategoryInfo[] = [
  // Blocked for everyone, never unblockable (DfE standard; ARCHITECTURE rule 6).
  c('iwf', 'illegal', 'Child sexual abuse content (IWF list)'),
  c('terrorism', 'illegal', 'Terrorist content (police-assessed list)'),
  // The UK Safer Internet Centre's inappropriate-content set.
  c('adult', 'inappropriate', 'Pornography and adult content'),
  c('discrimination', 'inappropriate', 'Discrimination'),
  c('drugs', 'inappropriate', 'Drugs and substance misuse'),
  c('extremism', 'inappropriate', 'Extremism and radicalisation'),
  c('gambling', 'inappropriate', 'Gambling'),
  c('malware', 'inappropriate', 'Malware, phishing and hacking'),
  c('piracy', 'inappropriate', 'Piracy and copyright theft'),
  c('self-harm', 'inappropriate', 'Self-harm'),
  c('violence', 'inappropriate', 'Violence and weapons'),
  // What schools filter by age and role.
  c('social-networking', 'school', 'Social networking'),
  c('chat', 'school', 'Chat and messaging'),
  c('games', 'school', 'Online games'),
  c('shopping', 'school', 'Shopping'),
  c('video-streaming', 'school', 'Video and audio streaming'),
  c('file-sharing', 'school', 'File sharing'),
  c('dating', 'school', 'Dating'),
  c('filter-avoidance', 'school', 'Proxies, VPNs and filter avoidance'),
  c('search-engines', 'school', 'Search engines'),
  c('webmail', 'school', 'Webmail'),
  c('education', 'school', 'Education'),
  c('kids', 'school', 'Sites for children'),
  // Topics the phrase lists raise to the DSL; no blocklist of their own.
  c('suicide', 'safeguarding', 'Suicide'),
  c('bullying', 'safeguarding', 'Bullying'),
  c('grooming', 'safeguarding', 'Grooming'),
];

export const ILLEGAL_CATEGORIES: ReadonlySet<string> = new Set(BUILTIN_CATEGORIES.filter((x) => x.group === 'illegal').map((x) => x.id));

export const CATEGORY_ID = /^[a-z][a-z0-9-]{0,39}$/;

export class CategoryRegistry {
  private readonly byId: ReadonlyMap<string, CategoryInfo>;
  constructor(custom: readonly CategoryInfo[], private readonly listMap: ReadonlyMap<string, string>) {
    this.byId = new Map([...BUILTIN_CATEGORIES, ...custom].map((x) => [x.id, x]));
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): CategoryInfo | undefined {
    return this.byId.get(id);
  }

  all(): CategoryInfo[] {
    return [...this.byId.values()];
  }

  /** The category of a list by its name: the category map, or a list named after a category. */
  categoryOf(listName: string): string | undefined {
    return this.listMap.get(listName) ?? (this.byId.has(listName) ? listName : undefined);
  }
}
