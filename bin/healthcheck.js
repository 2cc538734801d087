#!/usr/bin/env node
// The Docker image's HEALTHCHECK: asks the running proxy for /healthz, a page it answers itself
// before any sign-in or filtering, and exits 0 when it says ok, 1 otherwise. Node's fetch, since
// the image has no curl. SCHOOLGATE_HEALTH_URL says where to ask when proxy.port or its listen
// addresses are not the shipped ones.
const url = process.env.SCHOOLGATE_HEALTH_URL ?? 'http://127.0.0.1:3128/healthz';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = await res.text();
  if (res.status === 200 && body.trim() === 'ok') process.exit(0);
  console.error(`schoolgate unhealthy: ${url} answered ${res.status}: ${body.slice(0, 200)}`);
} catch (err) {
  console.error(`schoolgate unhealthy: ${url}: ${err.cause?.code ?? err.message}`);
}
process.exit(1);
