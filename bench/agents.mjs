#!/usr/bin/env node
// collab's own overhead per phase on the real codex and claude binaries with an instant model
// (npm run bench:agents): the scripted model server (test/fixtures/model-server/) answers every
// request at once, so what is left is the agent programs' own start-up and collab's work around
// them. Per phase: phase wall time (events.jsonl `phase.finished.durationMs`) minus the agent
// process's wall time (`agent.finished.durationMs`, summed over attempts: spawn to exit, measured
// by collab's process runner). Goal: overhead <= 5 % of the phase.
//
// Two modes, both measured every round:
//   run     one `collab run "rate limiting"` (default roles: claude plans/implements/extracts the
//           pattern, codex reviews/validates); also the whole process wall time against the sum of
//           the agent runs (that adds node start-up, config, memory connect and session creation).
//   phases  `collab start`, `review`, `implement`, `validate`, `extract-pattern` as separate
//           processes: per command, process wall time minus agent time (what a user waits for).
//
// Network: like the adapter suite, this only runs in a network namespace that has nothing but
// loopback; when started outside one it re-executes itself under `unshare --net` (root) or
// `unshare --user --map-root-user --net`, and refuses to run if that is not possible.
//
// Settings (environment): BENCH_ROUNDS (default 3; the median per phase is reported),
// BENCH_JSON=1 for a JSON line at the end, BENCH_KEEP=1 to keep the scratch directories.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);
const GOAL = 0.05;
const PHASES = ['plan', 'review', 'implement', 'validate', 'pattern'];
const COMMANDS = { plan: ['start', 'rate limiting'], review: ['review'], implement: ['implement'], validate: ['validate'], pattern: ['extract-pattern'] };

// ------------------------------------------------------------------ loopback-only namespace

function nonLoopback() {
  const names = new Set();
  try {
    for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
      const name = line.split(':')[0]?.trim();
      if (name) names.add(name);
    }
  } catch {
    // not Linux
  }
  for (const [name, addrs] of Object.entries(networkInterfaces())) if (addrs?.some((a) => !a.internal)) names.add(name);
  names.delete('lo');
  return [...names];
}

if (nonLoopback().length) {
  if (process.env.COLLAB_BENCH_IN_NETNS) {
    console.error(`bench:agents: refusing to run: this namespace has ${nonLoopback().join(', ')} besides loopback`);
    process.exit(2);
  }
  const inner = ['sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...process.argv.slice(2)];
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const args = asRoot ? ['--net', '--', ...inner] : ['--user', '--map-root-user', '--net', '--', ...inner];
  const r = spawnSync('unshare', args, { stdio: 'inherit', env: { ...process.env, COLLAB_BENCH_IN_NETNS: '1' } });
  if (r.error) {
    console.error(`bench:agents: cannot enter a loopback-only network namespace (unshare: ${r.error.message}); refusing to run the real agents outside one`);
    process.exit(2);
  }
  process.exit(r.status ?? 1);
}

// ------------------------------------------------------------------ the fixtures (TypeScript, bundled on the fly)

async function loadFixtures(scratch) {
  const esbuild = await import('esbuild');
  const outdir = path.join(scratch, 'fixtures');
  await esbuild.build({
    entryPoints: { 'model-server': path.join(root, 'test/fixtures/model-server/model-server.ts'), 'agent-homes': path.join(root, 'test/fixtures/model-server/agent-homes.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
  });
  const ms = await import(pathToFileURL(path.join(outdir, 'model-server.mjs')).href);
  const homes = await import(pathToFileURL(path.join(outdir, 'agent-homes.mjs')).href);
  return { ...ms, ...homes };
}

// ------------------------------------------------------------------ one world, one script

const PLAN = ['## Overview', 'Rate limiting with express-rate-limit and a Redis store.', '', '## Open Questions', '1. Fail open when Redis is down?'].join('\n');
const REVIEW = { verdict: 'CONDITIONAL', score: 8, summary: 'Fine with a fallback.', strengths: [], concerns: [{ severity: 'medium', title: 'Fallback', detail: 'Redis outage.', recommendation: 'Fail open.' }], answers: [{ question: 'Fail open when Redis is down?', answer: 'Yes.' }], filesReviewed: [] };
const VALIDATION = { verdict: 'APPROVED', score: 9, summary: 'Done.', strengths: [], concerns: [], answers: [], filesReviewed: ['src/limiter.js'] };

function script(server, app) {
  server.push(
    'claude',
    { type: 'text', text: PLAN },
    { type: 'tool', name: 'Write', args: { file_path: path.join(app, 'src', 'limiter.js'), content: 'export const limit = 100;\n' } },
    { type: 'text', text: '## Implementation Summary\nWrote src/limiter.js.' },
    { type: 'text', text: '## Pattern\nexpress-rate-limit with a Redis store that fails open.' },
  );
  server.push('codex', { type: 'json', value: REVIEW }, { type: 'json', value: VALIDATION });
}

function world(fx, scratch, name, url) {
  const dir = path.join(scratch, name);
  const appSrc = path.join(root, 'templates', 'workloads', 'rate-limiting', 'app');
  const app = path.join(dir, 'app');
  cpSync(appSrc, app, { recursive: true, filter: (src) => !path.relative(appSrc, src).split(path.sep).includes('node_modules') });
  mkdirSync(path.join(dir, 'xdg-data'), { recursive: true });
  const env = { ...process.env };
  for (const k of ['COLLAB_MEMORY_DB', 'COLLAB_TEST_KILL_AT', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'OPENAI_API_KEY', 'CODEX_API_KEY', 'FORCE_COLOR']) delete env[k];
  const claude = fx.makeClaudeEnv(dir, url);
  for (const [k, v] of Object.entries({ ...fx.makeCodexHome(dir, url), ...claude })) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env.HOME = claude.HOME;
  env.XDG_DATA_HOME = path.join(dir, 'xdg-data');
  env.PATH = `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  env.NO_COLOR = '1';
  return { app, env };
}

function collab(w, args) {
  const t0 = performance.now();
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'collab.js'), ...args], { cwd: w.app, env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`collab ${args.join(' ')} exited ${code}\n${err}`));
      else resolve({ ms, out, startedAt, endedAt: Date.now() });
    });
  });
}

function sessionEvents(w) {
  const sessions = path.join(w.app, '.collab', 'sessions');
  const [id] = spawnSync('ls', [sessions], { encoding: 'utf8' }).stdout.trim().split('\n');
  return readFileSync(path.join(sessions, id, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Per phase: engine phase time and agent process time (all attempts), from events.jsonl. */
function perPhase(events) {
  const out = {};
  for (const p of PHASES) {
    const fin = events.filter((e) => e.type === 'phase.finished' && e.phase === p);
    const agents = events.filter((e) => e.type === 'agent.finished' && e.phase === p);
    if (fin.length !== 1) throw new Error(`expected one phase.finished for ${p}, found ${fin.length}`);
    if (!agents.length || agents.some((a) => typeof a.durationMs !== 'number')) throw new Error(`no agent.finished durationMs for ${p} in events.jsonl`);
    const started = events.find((e) => e.type === 'phase.started' && e.phase === p);
    out[p] = { phaseMs: fin[0].durationMs, agentMs: agents.reduce((s, a) => s + a.durationMs, 0), startedAt: Date.parse(started.at), finishedAt: Date.parse(fin[0].at) };
  }
  return out;
}

// ------------------------------------------------------------------ measure

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('build failed');
  const scratch = mkdtempSync(path.join(tmpdir(), 'collab-bench-agents-'));
  const fx = await loadFixtures(scratch);
  const server = await fx.startModelServer();
  const samples = { run: [], phases: [] };
  try {
    // One warm-up of each program (first start reads more from disk), not counted.
    const warm = world(fx, scratch, 'warm', server.url);
    script(server, warm.app);
    await collab(warm, ['run', 'rate limiting']);

    for (let r = 0; r < rounds; r++) {
      const a = world(fx, scratch, `run-${r}`, server.url);
      script(server, a.app);
      const whole = await collab(a, ['run', 'rate limiting']);
      samples.run.push({ wallMs: whole.ms, phases: perPhase(sessionEvents(a)) });

      const b = world(fx, scratch, `phases-${r}`, server.url);
      script(server, b.app);
      const cmd = {};
      for (const p of PHASES) cmd[p] = await collab(b, COMMANDS[p]);
      const ph = perPhase(sessionEvents(b));
      for (const p of PHASES) {
        ph[p].wallMs = cmd[p].ms;
        // Outside the phase: process spawn -> phase.started (node, imports, config, memory connect, lock),
        // and phase.finished -> process exit (memory close, exit). Epoch ms on both sides, same clock.
        ph[p].beforeMs = ph[p].startedAt - cmd[p].startedAt;
        ph[p].afterMs = cmd[p].endedAt - ph[p].finishedAt;
      }
      samples.phases.push({ phases: ph });
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }
    if (server.remaining('claude') || server.remaining('codex')) throw new Error('model script not fully used: a phase did not run as scripted');
  } finally {
    await server.close();
    if (!process.env.BENCH_KEEP) rmSync(scratch, { recursive: true, force: true });
  }
  report(samples, rounds);
}

function pct(x) {
  return `${(x * 100).toFixed(2)} %`;
}

function report(samples, rounds) {
  const pad = (s, n) => String(s).padStart(n);
  const rows = [];
  console.log(`collab overhead on the real agents (codex-cli + Claude Code, instant scripted model), median of ${rounds} round(s); goal <= ${GOAL * 100} % of the phase\n`);
  console.log('collab run "rate limiting" — per phase: phase time (engine) vs agent process time');
  console.log(`${'phase'.padEnd(10)}${pad('phase ms', 10)}${pad('agent ms', 10)}${pad('collab ms', 11)}${pad('ratio', 10)}  goal`);
  let sumPhase = 0;
  let sumAgent = 0;
  for (const p of PHASES) {
    const phaseMs = median(samples.run.map((s) => s.phases[p].phaseMs));
    const agentMs = median(samples.run.map((s) => s.phases[p].agentMs));
    const over = median(samples.run.map((s) => s.phases[p].phaseMs - s.phases[p].agentMs));
    const ratio = median(samples.run.map((s) => (s.phases[p].phaseMs - s.phases[p].agentMs) / s.phases[p].phaseMs));
    sumPhase += phaseMs;
    sumAgent += agentMs;
    rows.push({ mode: 'run', phase: p, phaseMs, agentMs, overheadMs: over, ratio });
    console.log(`${p.padEnd(10)}${pad(phaseMs.toFixed(0), 10)}${pad(agentMs.toFixed(0), 10)}${pad(over.toFixed(0), 11)}${pad(pct(ratio), 10)}  ${ratio <= GOAL ? 'ok' : 'OVER'}`);
  }
  const phasesRatio = (sumPhase - sumAgent) / sumPhase;
  console.log(`${'phases'.padEnd(10)}${pad(sumPhase.toFixed(0), 10)}${pad(sumAgent.toFixed(0), 10)}${pad((sumPhase - sumAgent).toFixed(0), 11)}${pad(pct(phasesRatio), 10)}  ${phasesRatio <= GOAL ? 'ok' : 'OVER'}`);
  const wall = median(samples.run.map((s) => s.wallMs));
  const agentAll = median(samples.run.map((s) => PHASES.reduce((t, p) => t + s.phases[p].agentMs, 0)));
  const wallRatio = median(samples.run.map((s) => (s.wallMs - PHASES.reduce((t, p) => t + s.phases[p].agentMs, 0)) / s.wallMs));
  console.log(`${'process'.padEnd(10)}${pad(wall.toFixed(0), 10)}${pad(agentAll.toFixed(0), 10)}${pad((wall - agentAll).toFixed(0), 11)}${pad(pct(wallRatio), 10)}  ${wallRatio <= GOAL ? 'ok' : 'OVER'}  (whole \`collab run\` process incl. node start-up)`);

  console.log('\nphase by phase (one collab process per command) — command wall time vs agent process time');
  console.log(`${'command'.padEnd(16)}${pad('wall ms', 10)}${pad('phase ms', 10)}${pad('agent ms', 10)}${pad('collab ms', 11)}${pad('ratio', 10)}  goal  (collab ms = before phase + in phase + after phase)`);
  let sumWall = 0;
  let sumAgent2 = 0;
  for (const p of PHASES) {
    const wallMs = median(samples.phases.map((s) => s.phases[p].wallMs));
    const phaseMs = median(samples.phases.map((s) => s.phases[p].phaseMs));
    const agentMs = median(samples.phases.map((s) => s.phases[p].agentMs));
    const over = median(samples.phases.map((s) => s.phases[p].wallMs - s.phases[p].agentMs));
    const ratio = median(samples.phases.map((s) => (s.phases[p].wallMs - s.phases[p].agentMs) / s.phases[p].wallMs));
    sumWall += wallMs;
    sumAgent2 += agentMs;
    const beforeMs = median(samples.phases.map((s) => s.phases[p].beforeMs));
    const inMs = median(samples.phases.map((s) => s.phases[p].phaseMs - s.phases[p].agentMs));
    const afterMs = median(samples.phases.map((s) => s.phases[p].afterMs));
    rows.push({ mode: 'phases', phase: p, wallMs, phaseMs, agentMs, overheadMs: over, ratio, beforeMs, inPhaseMs: inMs, afterMs });
    console.log(`${COMMANDS[p][0].padEnd(16)}${pad(wallMs.toFixed(0), 10)}${pad(phaseMs.toFixed(0), 10)}${pad(agentMs.toFixed(0), 10)}${pad(over.toFixed(0), 11)}${pad(pct(ratio), 10)}  ${ratio <= GOAL ? 'ok  ' : 'OVER'}  (${beforeMs.toFixed(0)} + ${inMs.toFixed(0)} + ${afterMs.toFixed(0)})`);
  }
  const totalRatio = (sumWall - sumAgent2) / sumWall;
  console.log(`${'total'.padEnd(16)}${pad(sumWall.toFixed(0), 10)}${pad('', 10)}${pad(sumAgent2.toFixed(0), 10)}${pad((sumWall - sumAgent2).toFixed(0), 11)}${pad(pct(totalRatio), 10)}  ${totalRatio <= GOAL ? 'ok' : 'OVER'}`);
  if (process.env.BENCH_JSON) console.log(JSON.stringify({ goal: GOAL, rounds, rows, run: { wallMs: wall, agentMs: agentAll, ratio: wallRatio, phasesRatio }, phasesTotal: { wallMs: sumWall, agentMs: sumAgent2, ratio: totalRatio } }));
}

main().catch((err) => {
  console.error(`bench:agents: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
