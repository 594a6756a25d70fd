/** Process entry: fast path for --version, everything else loads lazily. */
declare const __COLLAB_VERSION__: string;

/** Runs the CLI with `argv` (process.argv form). */
export async function main(argv: string[]): Promise<void> {
  // `collab show | head`: a closed pipe ends the output quietly, it is not a crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${__COLLAB_VERSION__}\n`);
    return;
  }
  // Agents spawn `memory serve --db F` for every run: skip the command-line machinery on that path.
  if (args.length === 4 && args[0] === 'memory' && args[1] === 'serve' && args[2] === '--db' && args[3]) {
    const { serveFast } = await import('./serve-fast.js');
    process.exitCode = await serveFast(args[3]);
    return;
  }
  const { runCli } = await import('./program.js');
  process.exitCode = await runCli(argv, __COLLAB_VERSION__);
}
