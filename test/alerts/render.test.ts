import { describe, expect, it } from 'vitest';
import type { AlertTrigger } from '../../src/alerts/detect.js';
import { alertPayload, ILLEGAL_GUIDANCE, renderAlert, renderDigest, triggerText, type AlertNotice, type RenderContext } from '../../src/alerts/render.js';

const CTX: RenderContext = { schoolName: 'Example Primary School', timeZone: 'Europe/London', staffAppUrl: 'https://staff.school.example:8443' };
const T0 = Date.parse('2026-11-16T10:00:00Z'); // 10:00 in London (GMT)
const SUMMER = Date.parse('2026-07-01T09:00:00Z'); // 10:00 in London (BST)

const searchTrigger: AlertTrigger = { kind: 'phrase', severity: 'danger', source: 'search', category: 'suicide', phrase: 'kill myself', weight: 10, text: 'how to kill myself' };

function notice(over: Partial<AlertNotice> = {}): AlertNotice {
  return {
    id: 'a-1001', label: 'Suicide', category: 'suicide', severity: 'danger', illegal: false, count: 1, firstSeen: T0, lastSeen: T0,
    actions: ['allow'], triggers: [searchTrigger], moreTriggers: 0, searchTerm: 'how to kill myself',
    url: 'https://www.google.com/search?q=how+to+kill+myself', user: 'amy', client: '10.1.2.5', group: 'ks2', ...over,
  };
}

const hrefs = (html: string): string[] => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);

describe('an alert sent at once', () => {
  it('says what, who, when, what the filter did, the term, the address, the triggers and where to open it', () => {
    const m = renderAlert(notice(), CTX);
    expect(m.subject).toBe('[Example Primary School] Safeguarding alert, danger: Suicide');
    expect(m.text).toContain('Safeguarding alert: Suicide (DANGER)');
    expect(m.text).toContain('Who:          amy (device 10.1.2.5)');
    expect(m.text).toContain('Group:        ks2');
    expect(m.text).toContain('When:         2026-11-16 10:00');
    expect(m.text).toContain('Filter:       allowed');
    expect(m.text).toContain('Search term:  how to kill myself');
    expect(m.text).toContain('Address:      https://www.google.com/search?q=how+to+kill+myself');
    expect(m.text).toContain('  - danger: phrase "kill myself" (suicide, weight 10) in the search "how to kill myself"');
    expect(m.text).toContain('Open the alert: https://staff.school.example:8443/alerts/a-1001');
    expect(hrefs(m.html)).toEqual(['https://staff.school.example:8443/alerts/a-1001']);
  });

  it('keeps the pupil out of the subject line', () => {
    expect(renderAlert(notice(), CTX).subject).not.toMatch(/amy|10\.1\.2\.5|kill/);
  });

  it('shows school time, summer time included, and a fold as a count with first and last times', () => {
    expect(renderAlert(notice({ firstSeen: SUMMER, lastSeen: SUMMER }), CTX).text).toContain('When:         2026-07-01 10:00');
    const folded = renderAlert(notice({ count: 3, lastSeen: T0 + 7 * 60_000, actions: ['allow', 'block'], moreTriggers: 12 }), CTX).text;
    expect(folded).toContain('When:         3 times, 2026-11-16 10:00 to 2026-11-16 10:07');
    expect(folded).toContain('Filter:       allowed and blocked');
    expect(folded).toContain('  - and 12 more');
  });

  it('names a device when nobody signed in, and lists entries with their line', () => {
    const m = renderAlert(notice({
      user: null, category: 'adult-content', label: 'Adult content', severity: 'advisory',
      triggers: [{ kind: 'list', severity: 'advisory', category: 'adult', list: 'ut1/adult', entry: 'adult.example.test', line: 42 }],
    }), CTX);
    expect(m.text).toContain('Who:          device 10.1.2.5');
    expect(m.text).toContain('advisory: on the list ut1/adult (adult), entry adult.example.test (line 42)');
  });

  it('escapes everything in HTML and never makes the address a link', () => {
    const evil = '"><script>alert(1)</script><a href="https://evil.example/">';
    const m = renderAlert(notice({ searchTerm: evil, url: `https://evil.example/?q=${evil}`, triggers: [{ ...searchTrigger, text: evil }] }), CTX);
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(hrefs(m.html)).toEqual(['https://staff.school.example:8443/alerts/a-1001']);
  });

  it('has no link at all without a staff app', () => {
    const m = renderAlert(notice(), { ...CTX, staffAppUrl: null });
    expect(hrefs(m.html)).toEqual([]);
    expect(m.text).not.toContain('Open the alert');
  });

  it('cannot be given extra mail headers through the school name', () => {
    expect(renderAlert(notice(), { ...CTX, schoolName: 'School\r\nBcc: x@evil.example' }).subject).not.toMatch(/[\r\n]/);
  });
});

describe('an alert about illegal content', () => {
  // As detection never gives them, but render must withhold them even if a caller passed them.
  const illegal = notice({
    id: 'a-2002', category: 'child-sexual-abuse', label: 'Child sexual abuse content', illegal: true, actions: ['block'],
    url: 'http://abuse.example.test/secret/page.html', searchTerm: 'abuse.example.test secret',
    triggers: [
      { kind: 'list', severity: 'danger', category: 'iwf', list: 'iwf', entry: 'abuse.example.test/secret/page.html', line: 3 },
      { ...searchTrigger, text: 'abuse.example.test secret' },
    ],
  });

  it('never has the address, term or entry, as text or link, in text, HTML or webhook JSON', () => {
    const m = renderAlert(illegal, CTX);
    const json = JSON.stringify(alertPayload(illegal, CTX));
    for (const out of [m.subject, m.text, m.html, json]) {
      expect(out).not.toContain('abuse.example.test');
      expect(out).not.toContain('secret');
    }
    expect(hrefs(m.html)).toEqual(['https://staff.school.example:8443/alerts/a-2002']);
    expect(m.text).not.toContain('Address:');
    expect(m.text).toContain('danger: on the list iwf (iwf)\n');
  });

  it("tells the DSL to follow the school's procedure: stop, do not revisit, refer to the police", () => {
    const m = renderAlert(illegal, CTX);
    for (const out of [m.text, m.html]) {
      expect(out).toContain('stop, do not revisit, and refer to the police');
      expect(out).toContain('Do not try to find, visit or view it');
    }
    expect(alertPayload(illegal, CTX).guidance).toBe(ILLEGAL_GUIDANCE.join(' '));
    expect(renderAlert(notice(), CTX).text).not.toContain('refer to the police');
  });
});

describe('digests', () => {
  const day = { period: 'daily' as const, from: Date.parse('2026-11-16T00:00:00Z'), to: Date.parse('2026-11-17T00:00:00Z') };

  it('say when there is nothing new', () => {
    const m = renderDigest({ ...day, alerts: [] }, CTX);
    expect(m.subject).toBe('[Example Primary School] Daily safeguarding digest: nothing new');
    expect(m.text).toContain('Nothing new: no safeguarding alerts from 2026-11-16 00:00 to 2026-11-17 00:00.');
    expect(m.html).toContain('Nothing new');
    expect(renderDigest({ ...day, period: 'weekly', alerts: [] }, CTX).subject).toContain('Weekly safeguarding digest: nothing new');
  });

  it('group alerts by pupil and by category, with counts, times, triggers and a link each', () => {
    const alerts: AlertNotice[] = [
      notice({ id: 'a-1', severity: 'caution', category: 'bullying', label: 'Bullying', searchTerm: 'everyone hates me', url: null,
        triggers: [{ kind: 'phrase', severity: 'caution', source: 'search', category: 'bullying', phrase: 'everyone hates me', weight: 6, text: 'everyone hates me' }], firstSeen: T0 + 3_600_000, lastSeen: T0 + 3_600_000 }),
      notice({ id: 'a-2', count: 4, lastSeen: T0 + 5 * 60_000 }),
      notice({ id: 'a-3', user: null, client: '10.1.9.9', group: 'guest', severity: 'advisory', category: 'adult-content', label: 'Adult content', actions: ['block'],
        searchTerm: null, url: 'https://adult.example.test/', triggers: [{ kind: 'list', severity: 'advisory', category: 'adult', list: 'ut1/adult', entry: 'adult.example.test', line: 9 }] }),
      notice({ id: 'a-4', user: 'ben', severity: 'advisory', category: 'adult-content', label: 'Adult content', searchTerm: null, url: null, triggers: [] }),
    ];
    const m = renderDigest({ ...day, alerts }, CTX);
    expect(m.subject).toBe('[Example Primary School] Daily safeguarding digest: 4 alerts');
    expect(m.text).toContain([
      'By category',
      '  Suicide: 1 alert (4 events), 1 danger; amy (ks2)',
      '  Bullying: 1 alert (1 event), 1 caution; amy (ks2)',
      '  Adult content: 2 alerts (2 events), 2 advisory; device 10.1.9.9 (guest), ben (ks2)',
    ].join('\n'));
    // People with the most serious alerts first; each person's alerts in time order.
    const people = m.text.split('By pupil\n')[1]!;
    expect(people.indexOf('  amy (ks2)')).toBeLessThan(people.indexOf('  ben (ks2)'));
    expect(people.indexOf('  ben (ks2)')).toBeLessThan(people.indexOf('  device 10.1.9.9 (guest)'));
    expect(people).toContain('    - Suicide, danger: 4 times, 2026-11-16 10:00 to 2026-11-16 10:05, allowed');
    expect(people.indexOf('Suicide, danger')).toBeLessThan(people.indexOf('Bullying, caution'));
    expect(people).toContain('      last search: "how to kill myself"');
    expect(people).toContain('      advisory: on the list ut1/adult (adult), entry adult.example.test (line 9)');
    for (const id of ['a-1', 'a-2', 'a-3', 'a-4']) expect(m.text).toContain(`https://staff.school.example:8443/alerts/${id}`);
    expect(hrefs(m.html).sort()).toEqual(['a-1', 'a-2', 'a-3', 'a-4'].map((id) => `https://staff.school.example:8443/alerts/${id}`));
    expect(m.html).toContain('<h3 style="font-size:14px">device 10.1.9.9 (guest)</h3>');
  });

  it('withhold illegal content and add the procedure', () => {
    const m = renderDigest({ ...day, alerts: [notice({ id: 'a-9', illegal: true, category: 'terrorism', label: 'Terrorist content', url: 'https://terror.example.test/x',
      triggers: [{ kind: 'list', severity: 'danger', category: 'terrorism', list: 'police', entry: 'terror.example.test', line: 1 }] })] }, CTX);
    for (const out of [m.text, m.html]) {
      expect(out).not.toContain('terror.example.test');
      expect(out).not.toContain('how to kill myself');
      expect(out).toContain('stop, do not revisit, and refer to the police');
    }
    expect(hrefs(m.html)).toEqual(['https://staff.school.example:8443/alerts/a-9']);
  });
});

describe('the webhook payload', () => {
  it('carries the alert as data, with ISO times and the link', () => {
    expect(alertPayload(notice({ count: 2, lastSeen: T0 + 60_000 }), CTX)).toEqual({
      type: 'alert', id: 'a-1001', school: 'Example Primary School', category: 'suicide', label: 'Suicide', severity: 'danger', illegal: false,
      count: 2, firstSeen: '2026-11-16T10:00:00.000Z', lastSeen: '2026-11-16T10:01:00.000Z', user: 'amy', client: '10.1.2.5', group: 'ks2',
      actions: ['allow'], searchTerm: 'how to kill myself', url: 'https://www.google.com/search?q=how+to+kill+myself',
      triggers: [searchTrigger], moreTriggers: 0, link: 'https://staff.school.example:8443/alerts/a-1001',
    });
  });
});

describe('a phrase trigger in words a DSL reads', () => {
  const base = { kind: 'phrase', severity: 'danger', category: 'suicide', weight: 20 } as const;
  it('names the words a rule of word classes or parts matched, and leaves a plain phrase as it is', () => {
    expect(triggerText({ ...base, source: 'search', phrase: '@want @method @self', matched: 'want to unalive myself', text: 'i want to unalive myself' }))
      .toBe('danger: phrase "@want @method @self" matching "want to unalive myself" (suicide, weight 20) in the search "i want to unalive myself"');
    expect(triggerText({ ...base, source: 'search', phrase: 'kill myself', matched: 'kill myself', text: 'how to kill myself' }))
      .toBe('danger: phrase "kill myself" (suicide, weight 20) in the search "how to kill myself"');
  });

  it('says a page\'s words were found in the page, not in its address', () => {
    expect(triggerText({ ...base, source: 'page', phrase: 'pills + tonight', matched: 'pills … tonight', text: 'http://forum.example.test/t/1' }))
      .toBe('danger: phrase "pills + tonight" matching "pills … tonight" (suicide, weight 20) in the page at http://forum.example.test/t/1');
    expect(triggerText({ ...base, source: 'page', phrase: 'goodbye forever' })).toBe('danger: phrase "goodbye forever" (suicide, weight 20) in a page');
  });
});
