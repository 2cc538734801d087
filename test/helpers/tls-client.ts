// A TLS client through the proxy: CONNECT, then a real handshake over the tunnel, so tests can
// see which certificate a device is shown and speak HTTP/1.1 over it by hand.
import http from 'node:http';
import tls from 'node:tls';

export interface TunnelOptions {
  /** CAs the client trusts; none means the handshake is expected to fail verification. */
  readonly ca?: string | readonly string[];
  readonly localAddress?: string;
  /** Name sent as SNI (default the host). */
  readonly servername?: string;
}

/** The 200 for CONNECT, then a TLS socket once its handshake completes (rejects on failure). */
export function tlsThroughProxy(proxyPort: number, host: string, port: number, options: TunnelOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: `${host}:${port}`, agent: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(new Error(`CONNECT answered ${res.statusCode}`));
      }
      const secure = tls.connect({ socket, servername: options.servername ?? host, ...(options.ca ? { ca: options.ca as string[] } : {}) });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/1.1 request on a TLS socket; the raw answer (status line, headers and body) once the server closes. */
export function requestOver(socket: tls.TLSSocket, host: string, path: string, extra = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { text += d; });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/html\r\nConnection: close\r\n${extra}\r\n`);
  });
}

/** The issuer's common name of the certificate the server showed. */
export function issuerOf(socket: tls.TLSSocket): string {
  const issuer = socket.getPeerCertificate().issuer as unknown as Record<string, string> | undefined;
  return issuer?.CN ?? '';
}
