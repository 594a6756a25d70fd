import { Command, CommanderError, Option } from 'commander';
import { CollabError, firstLine, isCollabError, toCollabError } from '../core/errors.js';
import { PHASES } from '../core/phases.js';
import { exitCodeFor } from './exit-codes.js';
import { Output } from './output.js';

/** Options every command accepts. */
export interface GlobalOptions {
  cwd?: string;
  color: boolean;
  verbose: boolean;
}

/** A command implementation: positional args via `cmd.processedArgs`, options via `cmd.opts()`. */
export type Handler = (cmd: Command, g: GlobalOptions & { json: boolean }, out: Output) => Promise<number | void>;

/** Builds the commander program and runs it; returns the exit code. Never throws. */
export async function runCli(argv: string[], version: string): Promise<number> {
  const env = process.env;
  const colorDefault = !('NO_COLOR' in env) && env.FORCE_COLOR !== '0' && Boolean(process.stdout.isTTY || process.stderr.isTTY);
  let out = new Output({ color: colorDefault, verbose: false, json: false, stdout: process.stdout, stderr: process.stderr });
  let exitCode = 0;

  const program = new Command('collab');
  program
    .description('Claude Code <-> Codex CLI collaboration: plan -> review -> implement -> validate -> pattern, every artifact verified in shared MCP memory.')
    .version(version, '-V, --version')
    .option('-C, --cwd <dir>', 'run as if started in <dir>')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-v, --verbose', 'more detail, including every agent event')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: () => {},
      outputError: () => {},
    });

  /** Wraps a command action: builds the output, runs the handler lazily, maps errors to exit codes. */
  const action =
    (load: () => Promise<Handler>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const g = program.opts<{ cwd?: string; color: boolean; verbose?: boolean }>();
      const local = cmd.opts<{ json?: boolean }>();
      const color = g.color && colorDefault;
      out = new Output({ color, verbose: Boolean(g.verbose), json: Boolean(local.json), stdout: process.stdout, stderr: process.stderr });
      const handler = await load();
      const code = await handler(cmd, { cwd: g.cwd, color, verbose: Boolean(g.verbose), json: Boolean(local.json) }, out);
      exitCode = typeof code === 'number' ? code : 0;
    };

  const jsonOpt = () => new Option('--json', 'print a JSON document (shape documented in docs/json.md)');
  const phaseOpts = (cmd: Command) =>
    cmd
      .option('--agent <kind>', 'override the role\'s agent: claude | codex | manual | replay')
      .option('--cassette <dir>', 'replay cassette directory (with --agent replay)')
      .option('--handoff <mode>', 'direct | memory')
      .option('--max-iterations <n>', 'cap on validate -> implement rounds')
      .option('--dry-run', 'print the command, environment and prompt that would run; run nothing');

  phaseOpts(
    program
      .command('start')
      .description('create a session and run the plan phase')
      .argument('<task>', 'what to build, e.g. "rate limiting"')
      .option('--plan-file <file>', 'use this plan instead of asking the planner'),
  ).action(action(async () => (await import('./commands/phase.js')).startCommand));

  for (const [name, phase, desc] of [
    ['plan', 'plan', 're-run the plan phase (after a failure or a review that sent the plan back)'],
    ['review', 'review', 'the reviewer reviews the plan'],
    ['implement', 'implement', 'the implementer applies the plan and the review'],
    ['validate', 'validate', 'the validator checks the implementation and scores it'],
    ['extract-pattern', 'pattern', 'store the validated result as a reusable pattern'],
  ] as const) {
    phaseOpts(program.command(name).description(desc).argument('[session]', 'session id (default: .collab/current)')).action(
      action(async () => (await import('./commands/phase.js')).phaseCommand(phase)),
    );
  }

  phaseOpts(
    program
      .command('run')
      .description('run every phase of a new session, looping validate -> implement up to --max-iterations')
      .argument('<task>', 'what to build')
      .option('--plan-file <file>', 'use this plan instead of asking the planner'),
  ).action(action(async () => (await import('./commands/phase.js')).runCommand));

  program
    .command('submit')
    .description('hand in a phase artifact you produced by hand (manual agent)')
    .argument('<phase>', `one of ${PHASES.join(', ')}`)
    .argument('[session]', 'session id (default: .collab/current)')
    .requiredOption('--file <file>', 'the artifact (markdown) or verdict (JSON)')
    .action(action(async () => (await import('./commands/phase.js')).submitCommand));

  program
    .command('abort')
    .description('abort a session (it can no longer run phases)')
    .argument('[session]', 'session id (default: .collab/current)')
    .option('--force', 'interrupt the collab on this machine that holds the session (e.g. a manual phase waiting for an answer) first')
    .action(action(async () => (await import('./commands/read.js')).abortCommand));

  program.command('status').description('state of a session').argument('[session]').addOption(jsonOpt()).action(action(async () => (await import('./commands/read.js')).statusCommand));
  program.command('list').description('sessions of this directory').addOption(jsonOpt()).action(action(async () => (await import('./commands/read.js')).listCommand));
  program
    .command('show')
    .description('print a session\'s artifacts (or one phase\'s)')
    .argument('[session]')
    .option('--phase <phase>', `one of ${PHASES.join(', ')}`)
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/read.js')).showCommand));
  program
    .command('report')
    .description('session summary: timeline, durations, verdicts, score, what changed from the plan')
    .argument('[session]')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/read.js')).reportCommand));
  program
    .command('patterns')
    .description('validated patterns in memory')
    .argument('[query]', 'free-text query')
    .option('--limit <n>', 'how many', '10')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/memory.js')).patternsCommand));

  const memory = program.command('memory').description('the memory server');
  memory
    .command('serve')
    .description('run the embedded MCP memory server on stdio, or on Streamable HTTP with --http')
    .option('--db <file>', 'SQLite file (default $XDG_DATA_HOME/collab/memory.db)')
    .option('--http', 'serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio')
    .option('--host <host>', 'address to bind with --http; beyond loopback a bearer token is required', '127.0.0.1')
    .option('--port <port>', 'port with --http (0 picks a free one)', '7847')
    .option('--allowed-host <name...>', 'extra Host/Origin names accepted with --http (DNS-rebinding protection)')
    .action(action(async () => (await import('./commands/memory.js')).serveCommand));
  memory
    .command('search')
    .description('retrieve from memory (a session id restricts to that session)')
    .argument('<query>')
    .option('--limit <n>', 'how many', '10')
    .option('--db <file>', 'SQLite file')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/memory.js')).searchCommand));
  memory
    .command('sync')
    .description('store the outbox (artifacts kept only in the ledger while memory was unavailable) and verify them')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/sync.js')).syncCommand));
  memory
    .command('stats')
    .description('counts, size, oldest/newest')
    .option('--db <file>', 'SQLite file')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/memory.js')).statsCommand));

  program
    .command('demo')
    .description('run a whole replayed session on a copy of the rate-limiting workload')
    .option('--dir <dir>', 'where to put the copy (default: a new temporary directory)')
    .option('--db <file>', 'memory database (default: one inside the demo directory)')
    .option('--no-checks', 'skip the workload tests at the end')
    .action(action(async () => (await import('./commands/demo.js')).demoCommand));

  program
    .command('init')
    .description('write .collab/config.json and register the memory server with Claude Code (.mcp.json) and codex (config.toml)')
    .option('-y, --yes', 'do not ask before changing files')
    .option('--dry-run', 'show what would change; change nothing')
    .option('--no-codex', 'leave codex\'s config alone')
    .option('--no-claude', 'leave .mcp.json alone')
    .action(action(async () => (await import('./commands/init.js')).initCommand));

  program
    .command('doctor')
    .description('check codex, claude and the memory server, and say how to fix what is missing')
    .addOption(jsonOpt())
    .action(action(async () => (await import('./commands/doctor.js')).doctorCommand));

  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    return reportError(err, out);
  }
}

/** Prints one line for any error and returns its exit code. */
export function reportError(err: unknown, out: Output): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    out.error(`${firstLine(err.message.replace(/^error:\s*/, ''))} (see \`collab --help\`)`);
    return exitCodeFor('USAGE');
  }
  const e = isCollabError(err) ? err : toCollabError(err);
  const msg = e.hint && !e.message.includes(e.hint) ? `${e.message} — ${e.hint}` : e.message;
  out.error(firstLine(msg));
  if (out.opts.verbose && !isCollabError(err) && err instanceof Error && err.stack) out.info(out.c.dim(err.stack));
  return exitCodeFor(e.code);
}

export { CollabError };
