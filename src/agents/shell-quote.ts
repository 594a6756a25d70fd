/** Quotes one argument for a POSIX shell (single quotes; plain words stay bare). */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A command line a user can paste. */
export function shellLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
