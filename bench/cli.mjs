// npm run bench: start-up and demo wall times, as ratios against `node -e 0` measured in the same run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'collab.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const dataHome = mkdtempSync(path.join(tmpdir(), 'collab-bench-xdg-'));
const env = { ...process.env, XDG_DATA_HOME: dataHome, NO_COLOR: '1' };

function time(args, cwd, n = runs) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

// A project with one session, for `collab status`.
const proj = mkdtempSync(path.join(tmpdir(), 'collab-bench-proj-'));
mkdirSync(path.join(proj, '.collab'));
writeFileSync(path.join(proj, '.collab', 'config.json'), JSON.stringify({ roles: { planner: { agent: 'replay' }, reviewer: { agent: 'replay' }, implementer: { agent: 'replay' }, validator: { agent: 'replay' } } }));
const s = spawnSync(process.execPath, [bin, 'start', 'rate limiting'], { cwd: proj, env, encoding: 'utf8' });
if (s.status !== 0) throw new Error(`start failed: ${s.stderr}`);

const base = time(['-e', '0'], proj);
const version = time([bin, '--version'], proj);
const status = time([bin, 'status'], proj);
const demoRuns = Math.max(3, Math.floor(runs / 3));
const demoSamples = [];
for (let i = 0; i < demoRuns; i++) {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'collab-bench-demo-')), 'd');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'demo', '--no-checks', '--dir', dir], { cwd: proj, env, encoding: 'utf8' });
  demoSamples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) throw new Error(`demo failed: ${r.stderr}`);
}
demoSamples.sort((a, b) => a - b);
const demoMedian = demoSamples[Math.floor(demoSamples.length / 2)];

const f = (x) => `${x.toFixed(1)} ms`;
console.log(`collab bench — ${runs} runs each (median), node ${process.version}`);
console.log(`baseline  node -e 0          ${f(base.median)}`);
console.log(`version   collab --version   ${f(version.median)}   ratio ${(version.median / base.median).toFixed(2)}  (goal ≤ 1.30)`);
console.log(`status    collab status      ${f(status.median)}   ratio ${(status.median / base.median).toFixed(2)}`);
console.log(`demo      collab demo        ${f(demoMedian)}   (${demoRuns} runs, whole session, no workload checks; goal ≤ 2000 ms)  ratio ${(demoMedian / base.median).toFixed(1)}`);
