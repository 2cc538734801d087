import { describe, expect, it } from 'vitest';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { ruleReach, SiteListBuilder } from '../../src/policy/site-list.js';

// The policy's own site lists read odd path spellings as the blocklists do (issue 12, finding 6):
// a block entry covers any reading of a path, an allow entry only every reading.
describe('site lists and path spellings servers read differently', () => {
  const b = new SiteListBuilder<{ action: string }>(ruleReach);
  b.add('site.example.test/secret', { action: 'block' });
  b.add('site.example.test/open', { action: 'allow' });
  const list = b.build();
  const hit = (url: string) => list.find(normaliseUrl(url))?.value.action ?? null;

  it.each([
    ['https://site.example.test/secret', 'block'],
    ['https://site.example.test/a/..%2fsecret', 'block'],
    ['https://site.example.test/a/..;/secret', 'block'],
    ['https://site.example.test/secret%20', 'block'],
    ['https://site.example.test/secret%2fx', 'block'],
    ['https://site.example.test/secretary', null],
    ['https://site.example.test/open/page', 'allow'],
    ['https://site.example.test/open;x/page', 'allow'],
    ['https://site.example.test/open/..%2fother', null],
    ['https://site.example.test/open/..;/other', null],
    ['https://site.example.test/other%2f..%2fopen', null],
  ])('%s -> %s', (url, action) => {
    expect(hit(url)).toBe(action);
  });

  it('by default covers only every reading, so an unblock or exclusion never opens more', () => {
    const d = new SiteListBuilder<string>();
    d.add('site.example.test/open', 'unblock');
    const l = d.build();
    expect(l.find(normaliseUrl('https://site.example.test/open/x'))?.value).toBe('unblock');
    expect(l.find(normaliseUrl('https://site.example.test/open/..%2fother'))).toBeUndefined();
    expect(l.find(normaliseUrl('https://site.example.test/other%2f..%2fopen'))).toBeUndefined();
  });
});
