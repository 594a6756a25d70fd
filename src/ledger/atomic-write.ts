import { closeSync, fsyncSync, linkSync, openSync, readSync, renameSync, fstatSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Fail with EEXIST instead of replacing an existing file (the target appears whole or not at all). */
  exclusive?: boolean;
  /** File mode of a new file (default 0o644, less the umask). */
  mode?: number;
}

/**
 * Writes `data` to `path` so that a crash at any instant leaves either the old or the new content:
 * a temp file in the same directory (same file system, so rename is atomic) is written and fsync'd,
 * then renamed (or hard-linked, for `exclusive`) over the target, then the directory is fsync'd so the
 * rename itself survives a power loss.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // `wx` so two writers can never share a temp file, even with a colliding random suffix.
  const fd = openSync(temp, 'wx', opts.mode ?? 0o644);
  let placed = false;
  try {
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.exclusive) {
      // link() refuses an existing target atomically; rename() would silently replace it.
      linkSync(temp, path);
      unlinkSync(temp);
    } else {
      renameSync(temp, path);
    }
    placed = true;
  } finally {
    if (!placed) tryUnlink(temp);
  }
  fsyncDir(dir);
}

/**
 * Appends one line durably: a single write (so concurrent appenders and a crash never interleave half
 * lines with whole ones) then fsync. When the file does not end in a newline — a crash cut the last
 * append — a newline is written first so the new line stays parseable on its own.
 */
export function appendLineDurable(path: string, line: string): void {
  // `a+` (not `a`): the last byte must be readable to detect a cut line.
  const fd = openSync(path, 'a+', 0o644);
  try {
    const needsSeparator = !endsWithNewline(fd);
    const text = `${needsSeparator ? '\n' : ''}${line.endsWith('\n') ? line : `${line}\n`}`;
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory so renames and new entries in it are durable; silently skipped where unsupported. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) and file systems cannot open or fsync a directory; the data is already safe.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* nothing useful to do */
      }
    }
  }
}

/** True for names {@link writeFileAtomic} uses for its temp files (so listings can skip them). */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

function tempPathFor(path: string): string {
  // Dot-prefixed and suffixed, so a leftover from a crash never matches an artifact or session name.
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function endsWithNewline(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  // Positional read works on an O_APPEND descriptor and does not move the append position.
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
