// HTTPS for the staff app with certificates from the school's CA, which staff devices already
// trust for inspection: one for each name the app is reached by (SNI), and by default one for the
// name in school.staffAppUrl (or this machine's name) for clients that send no name.
import { hostname } from 'node:os';
import type tls from 'node:tls';
import type { Interception } from '../proxy/server.js';

export async function adminTlsOptions(certs: Pick<Interception, 'context'>, staffAppUrl: string | null): Promise<tls.TlsOptions> {
  let name = hostname();
  try {
    if (staffAppUrl) name = new URL(staffAppUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    // A bad staffAppUrl is the config loader's to report; the machine's name will do here.
  }
  return {
    secureContext: await certs.context(name),
    SNICallback: (servername, done) => {
      Promise.resolve().then(() => certs.context(servername)).then((c) => done(null, c), (err: Error) => done(err));
    },
    ALPNProtocols: ['http/1.1'],
  };
}
