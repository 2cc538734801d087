// E-mail to staff about their requests, through the SMTP server the safeguarding file sets up.
// Without one, people are told in the app only.
import type { SchoolgateConfig } from '../config/load.js';
import { EmailNotifier } from '../alerts/notify-email.js';
import { escapeHtml } from '../proxy/pages.js';

export function mailer(config: () => SchoolgateConfig): (to: string, subject: string, text: string) => Promise<void> {
  let notifier: { settings: unknown; notifier: EmailNotifier } | null = null;
  return async (to, subject, text) => {
    const settings = config().safeguarding.email;
    if (!settings) return;
    if (notifier?.settings !== settings) notifier = { settings, notifier: new EmailNotifier(settings) };
    await notifier.notifier.send(`unblock-${Date.now()}`, [{ name: to, email: to }], { subject, text, html: `<pre>${escapeHtml(text)}</pre>` });
  };
}
