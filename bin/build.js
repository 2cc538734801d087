#!/usr/bin/env node
// Keeps dist/ (the compiled JavaScript that `schoolgate` runs) in step with src/. Compiling with
// tsc takes 15-40 s here, far too long to do on every run, so each build leaves a stamp in dist/:
// a hash of what the output depends on (every file under src/ and the two tsconfig files) and the
// TypeScript version that compiled it. A run compares it with the sources, which takes
// milliseconds, and builds again only when they differ: after an edit, a `git pull` without
// `npm install`, or a new TypeScript.
//
//   node bin/build.js           build dist/ if it is stale (npm run build, and npm install's prepare)
//   node bin/build.js --force   build it whatever the stamp says
//
// Contents, not modification times, are hashed: a checkout or a copy can leave a changed file
// with an older time, and a touched file is no reason to build. Hashing every source took 30-70 ms
// of each command's start, though, so the build also writes down each file's size, times and
// inode (dist/.source-stat): a run that finds them all as written down takes the sources as
// unchanged without reading them (a change to a file's contents changes its ctime, which no
// copy or checkout can set back), and one that finds any other hashes as before.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const SOURCE = join(ROOT, 'src');
export const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.source-hash');
const STAT = join(DIST, '.source-stat');
const LOCK = join(DIST, '.building');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
/** A build that has held the lock this long is taken to have died without its process ending. */
const LOCK_GIVE_UP_MS = 10 * 60_000;
/** A lock folder still without its pid file this long after it was made was left by a process killed in between. */
const LOCK_UNCLAIMED_MS = 10_000;

/** Every file the build reads (under src/, and the two tsconfig files), sorted. */
function sourceFiles() {
  const files = readdirSync(SOURCE, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  return [...files, ...CONFIGS.map((c) => join(ROOT, c))];
}

/** The hash of the sources the build reads, or null when there is no src/ (an installed image runs dist/ as it is). */
export function sourceHash() {
  if (!existsSync(SOURCE)) return null;
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    const bytes = readFileSync(file);
    // Name and length first, so no two different sets of files hash the same bytes.
    hash.update(`${relative(ROOT, file)}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/**
 * One line per source file: its name, size, modification and change times (ns) and inode. Taken
 * before the sources are hashed, so a file saved in between is seen as changed next time.
 */
function sourceStats() {
  return sourceFiles().map((file) => {
    const s = statSync(file, { bigint: true });
    return `${relative(ROOT, file)}\t${s.size}\t${s.mtimeNs}\t${s.ctimeNs}\t${s.ino}`;
  }).join('\n');
}

/** Writes down the sources' stats beside the stamp they were hashed for; a folder that cannot be written only means hashing next time. */
function writeStats(stamp, stats) {
  try {
    writeFileSync(STAT, `${stamp}\n${stats}\n`);
  } catch {
    // hashed again next time
  }
}

/** The installed TypeScript's version, or null when it is not installed (npm install --omit=dev). */
function typescriptVersion() {
  try {
    return createRequire(join(ROOT, 'package.json'))('typescript/package.json').version;
  } catch {
    return null;
  }
}

/** The stamp's line: the sources' hash and the compiler's version. */
const stampOf = (hash, typescript) => `${hash} typescript ${typescript}`;

function readStamp() {
  try {
    return readFileSync(STAMP, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Whether dist/ was compiled from `hash`, by the TypeScript installed now when there is one. */
function stampMatches(hash) {
  const stamp = readStamp();
  const typescript = typescriptVersion();
  return typescript === null ? stamp?.startsWith(`${hash} `) === true : stamp === stampOf(hash, typescript);
}

/** True when dist/ was built from the sources as they are now (or there are no sources to build from). */
export function isFresh() {
  if (!existsSync(SOURCE)) return existsSync(join(DIST, 'cli/main.js'));
  const stamp = readStamp();
  if (stamp === null) return false;
  const stats = sourceStats();
  let noted = null;
  try {
    noted = readFileSync(STAT, 'utf8');
  } catch {
    // never written down: hash
  }
  // The stats as written down for this very stamp: unchanged sources (the compiler is still checked).
  if (noted === `${stamp}\n${stats}\n`) return stampMatches(stamp.split(' ')[0]);
  if (!stampMatches(sourceHash())) return false;
  writeStats(stamp, stats);
  return true;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Whether the lock's builder is still there to finish (as far as can be told). */
function lockHeld() {
  let pid = NaN;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    // No pid file: see below.
  }
  if (Number.isInteger(pid) && pid > 0) return alive(pid);
  // No pid yet: the lock was just made, or left by a process killed before it wrote one.
  try {
    return Date.now() - statSync(LOCK).mtimeMs < LOCK_UNCLAIMED_MS;
  } catch {
    return false;
  }
}

/**
 * One build at a time: two commands started together after an edit must not both write dist/.
 * The lock is a folder holding the builder's pid; a lock whose process is gone is taken over.
 */
function withLock(fn) {
  mkdirSync(DIST, { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    if (!lockHeld() || Date.now() - started > LOCK_GIVE_UP_MS) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    sleep(200);
  }
  try {
    writeFileSync(join(LOCK, 'pid'), String(process.pid));
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds dist/ unless it is fresh. `quiet` collects tsc's output instead of showing it (a
 * command run by a technician shows only a summary); `onCompile` is called just before tsc
 * starts, when it does. Returns
 *   { built: false }                       nothing to do
 *   { built: true, status, output }        tsc ran: status 0 is clean, 2 means type errors
 *                                          with the JavaScript written all the same
 * and throws when tsc could not run or wrote nothing.
 */
export function build({ quiet = false, force = false, onCompile = () => {} } = {}) {
  return withLock(() => {
    // Hashed before compiling: a file saved during the build makes the next run build again.
    const stats = existsSync(SOURCE) ? sourceStats() : null;
    const hash = sourceHash();
    if (hash === null) throw new Error('there is no src/ to build from');
    if (!force && stampMatches(hash)) return { built: false };
    const typescript = typescriptVersion();
    if (typescript === null) throw new Error('TypeScript is not installed (npm install --omit=dev leaves it out)');
    const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    rmSync(STAMP, { force: true });
    rmSync(STAT, { force: true });
    onCompile();
    const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
      cwd: ROOT, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8',
    });
    if (run.error) throw run.error;
    const output = quiet ? `${run.stdout}${run.stderr}` : '';
    // tsc's exit status 2 is "errors found, output written"; anything else but 0 wrote nothing.
    if (run.status !== 0 && run.status !== 2) throw new Error(`tsc exited with status ${run.status ?? run.signal}\n${output}`);
    writeFileSync(STAMP, `${stampOf(hash, typescript)}\n`);
    writeStats(stampOf(hash, typescript), stats);
    return { built: true, status: run.status, output };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  if (!existsSync(SOURCE)) {
    // npm install in a tree without src/ (the Docker image's first stage installs before copying it).
    console.log('schoolgate build: no src/ here, nothing to compile');
  } else if (typescriptVersion() === null) {
    // npm install --omit=dev: the command still works, through tsx, only slower to start.
    console.log('schoolgate build: TypeScript is not installed, so src/ is not compiled; schoolgate will run it through tsx');
  } else {
    const result = build({ force: process.argv.includes('--force') });
    if (!result.built) console.log('schoolgate build: dist/ is up to date with src/');
    process.exitCode = result.built && result.status !== 0 ? 1 : 0;
  }
}
