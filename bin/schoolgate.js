#!/usr/bin/env node
// The schoolgate command. It runs the compiled JavaScript in dist/, which starts in a fraction of
// the time TypeScript compiled on every run took. `npm install` builds dist/ (the prepare
// script); a checkout whose src/ has changed since is built again here first (bin/build.js). An
// installed image without src/ (see Dockerfile) runs its dist/ as it is.
//
// SCHOOLGATE_FROM_SOURCE=1 runs src/ through tsx instead, as the tests do: they check the
// sources as they are, without a build in between.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { build, isFresh, SOURCE } from './build.js';

// Node 22.1 and later keep V8's compiled code of every module loaded (ours and the packages') on
// disk and read it back on the next run, which saves part of each command's module loading
// (the Docker image runs Node 24); Node 20 has no such cache and goes on without it.
module.enableCompileCache?.();

const fromSource = process.env.SCHOOLGATE_FROM_SOURCE === '1' && existsSync(SOURCE);
// What this process runs, for the proxy workers `schoolgate start` forks (node:cluster, which
// gives them its environment): a worker runs the same, without checking dist/ again (statting
// every source took tens of milliseconds of each worker's start).
const RUNS = 'SCHOOLGATE_RUNS';
const inherited = process.env.NODE_UNIQUE_ID === undefined ? undefined : process.env[RUNS];

async function runSource() {
  process.env[RUNS] = 'source';
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}

async function runDist() {
  process.env[RUNS] = 'dist';
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}

if (inherited === 'source' || (inherited === undefined && fromSource)) {
  await runSource();
} else if (inherited === 'dist' || isFresh()) {
  await runDist();
} else {
  let built = null;
  try {
    built = build({
      quiet: true,
      onCompile: () => console.error('schoolgate: compiling src/ to dist/, which is missing or older than the sources (once, 15-40 s)'),
    });
  } catch (err) {
    // No TypeScript installed (npm install --omit=dev) or a folder this user cannot write.
    console.error(`schoolgate: could not compile src/ (${err.message.split('\n')[0]}); running it through tsx instead`);
  }
  if (built?.status === 2) console.error('schoolgate: src/ has type errors (npm run typecheck lists them); running what tsc wrote all the same');
  if (built) await runDist();
  else await runSource();
}
