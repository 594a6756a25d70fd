import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CollabError } from '../../core/errors.js';
import { createSession } from '../../engine/create-session.js';
import { runSession } from '../../engine/run-session.js';
import { buildReport } from '../../engine/report.js';
import { sha256 } from '../../engine/hash.js';
import { findExecutable } from '../../process/which.js';
import { createContext } from '../context.js';
import { buildEngineDeps, defaultCassette } from '../engine-deps.js';
import type { Handler } from '../program.js';
import { printOutcome } from './phase.js';
import { printReport } from './read.js';

/** `collab demo [--dir D]`: a whole replayed session on a copy of the rate-limiting workload. */
export const demoCommand: Handler = async (cmd, g, out) => {
  const opts = cmd.opts<{ dir?: string; db?: string; checks: boolean }>();
  const base = createContext(g, out);
  const workload = path.join(base.packageRoot, 'templates', 'workloads', 'rate-limiting');
  const dir = prepareDir(opts.dir ? path.resolve(base.cwd, opts.dir) : undefined);
  const t0 = Date.now();

  // The copy is a project of its own: the starting app, its deps made resolvable, and a config that replays.
  const appDir = path.join(workload, 'app');
  // Filter on the path inside the app only: a packed install lives under node_modules itself.
  cpSync(appDir, dir, { recursive: true, filter: (src) => !path.relative(appDir, src).split(path.sep).includes('node_modules') });
  const { linkWorkloadDeps } = await import('../../workload/link-deps.js');
  await linkWorkloadDeps(dir, import.meta.url);
  const cassette = defaultCassette(base.packageRoot);
  const dbPath = opts.db ? path.resolve(base.cwd, opts.db) : base.dbPath;
  mkdirSync(path.join(dir, '.collab'), { recursive: true });
  const config = {
    roles: { planner: { agent: 'replay' }, reviewer: { agent: 'replay' }, implementer: { agent: 'replay' }, validator: { agent: 'replay' } },
    replay: { cassette },
    ...(opts.db ? { memory: { db: dbPath } } : {}),
  };
  writeFileSync(path.join(dir, '.collab', 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

  const ctx = createContext({ ...g, cwd: dir }, out, { db: dbPath });
  const { loadCassette } = await import('../../agents/replay.js');
  const tape = loadCassette(cassette);
  out.info(out.c.bold(`collab demo — replaying the "${tape.name}" session (recorded answers, no model is called)`));
  out.info(`project copy: ${dir}`);
  out.info(`memory:       embedded MCP server over ${ctx.dbPath}`);
  const memory = await ctx.connectMemory();
  let sessionId: string;
  try {
    const deps = buildEngineDeps(ctx, memory, { cassette });
    const session = createSession(ctx.ledger, ctx.config, { task: tape.task, title: tape.title, workDir: dir, now: ctx.clock.now(), agents: { planner: 'replay', reviewer: 'replay', implementer: 'replay', validator: 'replay' } });
    sessionId = session.id;
    out.info(`session:      ${session.id}`);
    await runSession(deps, session.id, { onPhase: (o) => printOutcome(ctx, o) });
    // Every phase must have been read back from memory with its hash.
    const final = ctx.ledger.load(session.id);
    const records = await memory.lookup(session.id);
    const missing = final.artifacts.filter((a) => !records.some((r) => sha256(r.text) === a.sha256));
    if (final.state !== 'pattern_extracted' || missing.length) {
      throw new CollabError('MEMORY_VERIFY_FAILED', `demo ended in state ${final.state} with ${missing.length} artifact(s) missing from memory`);
    }
    out.line();
    printReport(ctx, buildReport(final, (f) => ctx.ledger.readArtifact(session.id, f), ctx.ledger.readEvents(session.id)));
  } finally {
    await memory.close();
  }
  const sessionMs = Date.now() - t0;

  let checksOk = true;
  if (opts.checks) {
    const { runWorkloadChecks } = await import('../../workload/run-checks.js');
    out.info('running the workload\'s own tests on the result (real redis-server on a free loopback port; about 15 s)…');
    const res = await runWorkloadChecks({ appDir: dir, checksDir: path.join(workload, 'checks'), env: process.env, onLine: (l) => out.verbose(`  │ ${l}`) });
    out.line();
    if (res.skipped) out.line(out.c.yellow(`workload tests skipped: ${res.skipped}`));
    else if (res.ok) out.line(`${out.c.green('✔')} workload tests passed on the result (${res.summary}) against a real redis-server`);
    else {
      checksOk = false;
      out.line(`${out.c.red('✖')} workload tests failed on the result: ${res.summary}`);
    }
  }
  out.line();
  out.line(`result: ${dir}  (session ${sessionId}, ${(sessionMs / 1000).toFixed(2)}s)`);
  const me = findExecutable('collab', process.env.PATH) ? 'collab' : `node ${path.join(base.packageRoot, 'bin', 'collab.js')}`;
  out.line(`try:    cd ${dir} && ${me} status && ${me} show --phase review && ${me} memory search ${sessionId}`);
  return checksOk ? 0 : 1;
};

/** An empty (or new) directory for the demo; a directory with files in it is refused so nothing is overwritten. */
function prepareDir(dir: string | undefined): string {
  if (!dir) return mkdtempSync(path.join(tmpdir(), 'collab-demo-'));
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CollabError('USAGE', `--dir ${dir}: not a directory`);
    if (readdirSync(dir).length > 0) throw new CollabError('USAGE', `--dir ${dir} is not empty; the demo needs an empty or new directory so it overwrites nothing`);
    return dir;
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}
