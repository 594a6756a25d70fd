import { accessSync, constants, statSync } from 'node:fs';
import { posix, win32 } from 'node:path';

/** Platform details {@link findExecutable} needs; injectable so the search is testable anywhere. */
export interface FindExecutableOptions {
  platform?: NodeJS.Platform;
  /** Windows `PATHEXT` (e.g. ".COM;.EXE;.BAT;.CMD"). */
  pathExt?: string;
  /** Base for a relative name like `./bin/tool`. */
  cwd?: string;
  /** Whether a path is a runnable file; defaults to a stat + access(X_OK) check. */
  isExecutable?: (path: string) => boolean;
}

/** Absolute path of the program `name` as the shell would find it on `envPath`, or undefined. */
export function findExecutable(name: string, envPath: string | undefined = process.env.PATH, opts: FindExecutableOptions = {}): string | undefined {
  if (name.trim() === '') return undefined;
  const platform = opts.platform ?? process.platform;
  const windows = platform === 'win32';
  // Path rules follow the target platform, not the one running the search (tests run Windows cases on Linux).
  const { isAbsolute, join, resolve, delimiter } = windows ? win32 : posix;
  const isExec = opts.isExecutable ?? ((p: string) => defaultIsExecutable(p, windows));
  const exts = windows ? candidatesExt(name, opts.pathExt ?? process.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD') : [''];

  // A name with a separator is a path, not something to look up (same rule as execvp).
  if (name.includes('/') || (windows && name.includes('\\'))) {
    const full = isAbsolute(name) ? name : resolve(opts.cwd ?? process.cwd(), name);
    return exts.map((e) => full + e).find(isExec);
  }
  for (const rawDir of (envPath ?? '').split(delimiter)) {
    // An empty PATH entry would mean "the current directory": never search it implicitly.
    const dir = windows ? rawDir.replace(/^"(.*)"$/, '$1') : rawDir;
    if (dir === '' || !isAbsolute(dir)) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (isExec(candidate)) return candidate;
    }
  }
  return undefined;
}

function candidatesExt(name: string, pathExt: string): string[] {
  const exts = pathExt.split(';').filter((e) => e !== '');
  // "codex.cmd" already has an extension: try it as given first.
  const has = exts.some((e) => name.toLowerCase().endsWith(e.toLowerCase()));
  return has ? ['', ...exts] : exts;
}

function defaultIsExecutable(path: string, windows: boolean): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (!windows) accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
