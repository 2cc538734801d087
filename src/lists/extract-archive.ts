// Unpacking a downloaded .tar.gz safely: plain files and folders only, no path outside the
// target folder, no deeper than MAX_DEPTH, and no more than the configured files and bytes, so a
// hostile or broken archive is refused before it can fill the disk or write elsewhere.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { messageOf } from '../log.js';
import { PUBLIC_MODES, type FileModes } from './generations.js';

export interface ExtractLimits {
  readonly maxBytes: number;
  readonly maxFiles: number;
}

export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const MAX_DEPTH = 8;
const TYPE_WORDS: Partial<Record<string, string>> = {
  SymbolicLink: 'a symbolic link', Link: 'a hard link', CharacterDevice: 'a device', BlockDevice: 'a device',
  FIFO: 'a named pipe', GNUDumpDir: 'a GNU dump folder',
};

/**
 * Unpacks a .tar(.gz) into the empty folder `into`, refusing the whole archive at the first
 * entry that is not a plain file or folder inside `into`, or when it exceeds `limits`.
 *
 * Why tar's Parser and our own writing, not tar.x: the Parser does the parts that are easy to
 * get wrong (gzip detection, checksums, pax and GNU long names, a decompression-ratio guard),
 * while tar.x's unpacker follows the archive's wishes on links, modes and owners and has had
 * several path-escape bugs. Writing ourselves, the only file-system calls are mkdir and an
 * exclusive create of a checked path under `into`, with the modes we choose; we never create a
 * link, so nothing written can point outside.
 */
export async function extractArchive(archive: string, into: string, limits: ExtractLimits, modes: FileModes = PUBLIC_MODES): Promise<{ files: number; bytes: number }> {
  const parser = new Parser({ strict: true });
  const input = createReadStream(archive);
  const streams: WriteStream[] = [];
  const writes: Promise<void>[] = [];
  /** Resolve when each file is closed: a destroyed stream may still be opening its file. */
  const closes: Promise<void>[] = [];
  let entries = 0;
  let bytes = 0;
  let settled = false;

  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      input.unpipe();
      input.destroy();
      for (const s of streams) s.destroy();
      // Wait until every file is closed, so the caller can delete the folder cleanly.
      void Promise.allSettled([...writes, ...closes]).then(() => reject(err instanceof ArchiveError ? err : new ArchiveError(messageOf(err))));
    };

    parser.on('entry', (entry: ReadEntry) => {
      if (settled) {
        entry.resume();
        return;
      }
      const rel = checkEntry(entry);
      if (rel instanceof ArchiveError) {
        entry.resume();
        return fail(rel);
      }
      if (++entries > limits.maxFiles) {
        entry.resume();
        return fail(new ArchiveError(`more than ${limits.maxFiles} files and folders`));
      }
      if (entry.type === 'Directory') {
        entry.resume();
        if (rel !== '') writes.push(mkdir(join(into, rel), { recursive: true, mode: modes.dir }).then(() => undefined));
        return;
      }
      bytes += entry.size;
      if (bytes > limits.maxBytes) {
        entry.resume();
        return fail(new ArchiveError(`unpacks to more than ${Math.round(limits.maxBytes / (1024 * 1024))} MB`));
      }
      const target = join(into, rel);
      writes.push((async () => {
        await mkdir(dirname(target), { recursive: true, mode: modes.dir });
        if (settled) {
          entry.resume();
          return;
        }
        const file = createWriteStream(target, { flags: 'wx', mode: modes.file, flush: true });
        streams.push(file);
        closes.push(new Promise((resolve) => file.once('close', () => resolve())));
        entry.pipe(file);
        await finished(file);
      })().catch((err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        fail(e.code === 'EEXIST' ? new ArchiveError(`"${rel}" appears twice`) : e.code === 'ENOTDIR' ? new ArchiveError(`"${rel}" is inside a file`) : err);
      }));
    });
    // Entries tar cannot classify (or oversized metadata) are skipped by the Parser; we refuse them.
    parser.on('ignoredEntry', (entry: ReadEntry) => fail(new ArchiveError(`"${entry.path}" is an entry of a kind not accepted (${String(entry.type)})`)));
    parser.on('error', (err: unknown) => fail(new ArchiveError(`${messageOf(err).replace(/^TAR_BAD_ARCHIVE: /, '')} (is it a complete .tar.gz archive?)`)));
    parser.on('end', () => {
      void Promise.all(writes).then(() => {
        if (settled) return;
        settled = true;
        resolve({ files: entries, bytes });
      }, fail);
    });
    input.on('error', fail);
    input.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

/** The entry's path relative to the extraction folder ('' for the folder itself), or why it is refused. */
function checkEntry(entry: ReadEntry): string | ArchiveError {
  const path = entry.path;
  if (entry.type !== 'Directory' && !FILE_TYPES.has(entry.type)) {
    return new ArchiveError(`"${path}" is ${TYPE_WORDS[entry.type] ?? `an entry of type ${String(entry.type)}`}; only plain files and folders are accepted`);
  }
  if (path.includes('\0') || path.includes('\\')) return new ArchiveError(`"${path.replace(/\0/g, '\\0')}" has a character not allowed in a path`);
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return new ArchiveError(`"${path}" is an absolute path`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return new ArchiveError(`"${path}" points outside the archive's folder`);
  if (parts.length > MAX_DEPTH) return new ArchiveError(`"${path}" is nested too deep`);
  if (parts.length === 0 && entry.type !== 'Directory') return new ArchiveError(`a file entry has no name`);
  return parts.join('/');
}
