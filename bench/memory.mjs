#!/usr/bin/env node
// `npm run bench:memory`: collab's embedded memory server against @modelcontextprotocol/server-memory,
// both spawned over MCP stdio, on the same seeded corpus and the same queries.
//
// Mapping onto server-memory's knowledge graph: one artifact = one entity named "<session id> <phase>",
// entityType "artifact", the artifact text as its single observation. A store is create_entities with
// one entity; a session-scoped retrieve is search_nodes with "<session id> <phase>" (matches that
// entity's name; server-memory has no limit, so all matches come back); a free-text retrieve is
// search_nodes with a two-word phrase (substring match; it has no ranking).
//
// Env: BENCH_SIZES=1000,10000,100000  BENCH_NO_BUILD=1  BENCH_SKIP_SERVER_MEMORY=1
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const PHASES = ['plan', 'review', 'implement', 'validate', 'pattern'];
const KIND = { plan: 'CLAUDE PLAN', review: 'CODEX REVIEW', implement: 'IMPLEMENTATION COMPLETE', validate: 'CODEX VALIDATION', pattern: 'VALIDATED PATTERN' };
const WORD = { plan: 'plan', review: 'review', implement: 'implementation', validate: 'validation', pattern: 'pattern' };
const TOPICS = ['rate limiting', 'token bucket', 'sliding window', 'redis store', 'session cache', 'retry policy', 'circuit breaker', 'feature flags', 'audit log', 'webhook delivery', 'search index', 'image resize', 'oauth login', 'csv export', 'billing invoices', 'email digest'];
const FILLER = 'the service handles requests with care and reports errors clearly while keeping latency low under load for every tenant'.split(' ');
const started = performance.now();

// Deterministic PRNG so runs compare.
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const sid = (n) => `SESSION-2025${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}-${n.toString(36).toUpperCase().padStart(8, '0')}`;

function artifact(n, phase) {
  const id = sid(n);
  const topic = TOPICS[n % TOPICS.length];
  const other = pick(TOPICS);
  const body = Array.from({ length: 60 }, () => pick(FILLER)).join(' ');
  const head = phase === 'pattern' ? `**VALIDATED PATTERN: ${topic} ${n}**` : `**[${id}] ${KIND[phase]}: ${topic} ${n}**`;
  const tail = phase === 'pattern' ? `Source: ${id}` : `Session ID: ${id}`;
  return `${head}\n\n## Summary\nWork on ${topic} with ${other}. ${body}\n\n## Status\n${phase} done\n\n${tail}\n`;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : '-');

async function connect(command, args, env) {
  const t0 = performance.now();
  const transport = new StdioClientTransport({ command, args, env: { ...process.env, ...env }, stderr: process.env.BENCH_SERVER_STDERR ? 'inherit' : 'ignore' });
  const client = new Client({ name: 'bench', version: '0' }, { capabilities: {} });
  await client.connect(transport, { timeout: 60_000 });
  await client.listTools(undefined, { timeout: 60_000 });
  return { client, connectMs: performance.now() - t0 };
}

async function timed(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const call = (client, name, args) => client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
const textOf = (res) => (res.content ?? []).filter((b) => b.type === 'text').map((b) => b.text);

async function benchServer(label, { command, args, env, store, sessionQuery, freeQuery, isHit, ops }) {
  const connects = [];
  for (let i = 0; i < 5; i++) {
    const { client, connectMs } = await connect(command, args, env);
    connects.push(connectMs);
    await client.close();
  }
  const { client } = await connect(command, args, env);
  try {
    let hits = 0;
    const targets = Array.from({ length: ops.retrieve }, () => ({ n: Math.floor(rnd() * ops.sessions), phase: pick(PHASES.slice(0, 4)) }));
    const sessionTimes = await timed(targets.length, async (i) => {
      const t = targets[i];
      const res = await call(client, ...sessionQuery(t));
      if (isHit(res, t)) hits++;
    });
    const freeTimes = await timed(ops.free, async () => call(client, ...freeQuery(pick(TOPICS))));
    const storeTimes = await timed(ops.store, async (i) => call(client, ...store(ops.sessions + 1 + i)));
    return { label, connect: pct(connects, 50), storeP50: pct(storeTimes, 50), storeP95: pct(storeTimes, 95), sessP50: pct(sessionTimes, 50), sessP95: pct(sessionTimes, 95), freeP50: pct(freeTimes, 50), freeP95: pct(freeTimes, 95), p1: hits / targets.length, ops };
  } finally {
    await client.close();
  }
}

async function main() {
  if (!process.env.BENCH_NO_BUILD) execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit', cwd: ROOT });
  const work = mkdtempSync(join(tmpdir(), 'collab-bench-memory-'));
  try {
    // The store class seeds SQLite directly (bundled on the fly: the bench is plain JS).
    const storeJs = join(work, 'sqlite-store.mjs');
    await build({ entryPoints: [join(ROOT, 'src/memory/sqlite-store.ts')], bundle: true, platform: 'node', format: 'esm', external: ['better-sqlite3'], outfile: storeJs, logLevel: 'warning' });
    // better-sqlite3 resolves from the repo, not from the temp dir.
    const { SqliteStore } = await import(pathToFileURL(storeJs).href).catch(async () => {
      const local = join(ROOT, 'node_modules', '.cache-bench-sqlite-store.mjs');
      writeFileSync(local, await import('node:fs').then((f) => f.readFileSync(storeJs, 'utf8')));
      return import(pathToFileURL(local).href);
    });
    // What this machine charges for starting node at all: the floor under any stdio connect.
    const bare = await timed(5, () => new Promise((resolve) => execFile(process.execPath, ['-e', ''], resolve)));
    process.stdout.write(`node start-up baseline (node -e ""): p50 ${ms(pct(bare, 50))}\n`);
    const rows = [];
    for (const N of SIZES) {
      const sessions = Math.ceil(N / PHASES.length);
      const db = join(work, `memory-${N}.db`);
      const graph = join(work, `graph-${N}.jsonl`);
      const t0 = performance.now();
      const store = new SqliteStore(db);
      const gw = createWriteStream(graph);
      let batch = [];
      let count = 0;
      for (let n = 0; n < sessions && count < N; n++) {
        for (const phase of PHASES) {
          if (count++ >= N) break;
          const text = artifact(n, phase);
          batch.push(text);
          gw.write(`${JSON.stringify({ type: 'entity', name: `${sid(n)} ${phase}`, entityType: 'artifact', observations: [text] })}\n`);
          if (batch.length === 5000) {
            store.storeMany(batch);
            batch = [];
          }
        }
      }
      store.storeMany(batch);
      store.close();
      await new Promise((r) => gw.end(r));
      const seedMs = performance.now() - t0;
      const big = N >= 100_000;
      const collabOps = { sessions, retrieve: 500, free: 200, store: 200 };
      const smOps = { sessions, retrieve: big ? 15 : N >= 10_000 ? 40 : 100, free: big ? 8 : N >= 10_000 ? 20 : 50, store: big ? 8 : N >= 10_000 ? 20 : 50 };
      seed = 7; // same targets for both servers
      const collab = await benchServer('collab', {
        command: process.execPath,
        args: [join(ROOT, 'bin', 'collab.js'), 'memory', 'serve', '--db', db],
        env: {},
        store: (n) => ['byterover-store-knowledge', { messages: artifact(n, 'plan') }],
        sessionQuery: (t) => ['byterover-retrieve-knowledge', { query: `${sid(t.n)} ${WORD[t.phase]}`, limit: 1 }],
        freeQuery: (topic) => ['byterover-retrieve-knowledge', { query: topic, limit: 10 }],
        isHit: (res, t) => textOf(res)[0] === artifact(t.n, t.phase).replace(/^/, '') || textOf(res)[0]?.startsWith(`**[${sid(t.n)}] ${KIND[t.phase]}:`),
        ops: collabOps,
      });
      let sm;
      if (!process.env.BENCH_SKIP_SERVER_MEMORY) {
        seed = 7;
        sm = await benchServer('server-memory', {
          command: join(ROOT, 'node_modules', '.bin', 'mcp-server-memory'),
          args: [],
          env: { MEMORY_FILE_PATH: graph },
          store: (n) => ['create_entities', { entities: [{ name: `${sid(n)} plan`, entityType: 'artifact', observations: [artifact(n, 'plan')] }] }],
          sessionQuery: (t) => ['search_nodes', { query: `${sid(t.n)} ${t.phase}` }],
          freeQuery: (topic) => ['search_nodes', { query: topic }],
          isHit: (res, t) => res.structuredContent?.entities?.[0]?.name === `${sid(t.n)} ${t.phase}`,
          ops: smOps,
        }).catch((err) => {
          process.stdout.write(`  server-memory failed at N=${N}: ${String(err?.message ?? err).split('\n')[0]}\n`);
          return undefined;
        });
      }
      rows.push({ N, seedMs, collab, sm });
      print(N, seedMs, collab, sm);
    }
    process.stdout.write(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    const last = rows.find((r) => r.N === 100_000);
    if (last) {
      const goals = [
        ['connect <= 150 ms', last.collab.connect <= 150],
        ['session-scoped retrieve p95 <= 5 ms at 100k', last.collab.sessP95 <= 5],
        ['precision@1 = 1.0', rows.every((r) => r.collab.p1 === 1)],
      ];
      for (const [g, ok] of goals) process.stdout.write(`goal ${ok ? 'met   ' : 'MISSED'}  ${g}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function print(N, seedMs, c, s) {
  const line = (name, a, b, fmt = ms) => `  ${name.padEnd(28)} ${fmt(a).padStart(12)} ${s ? fmt(b).padStart(14) : ''} ${s && a > 0 ? `${(b / a).toFixed(1)}x`.padStart(9) : ''}\n`;
  process.stdout.write(`\nN = ${N} artifacts (seeded in ${(seedMs / 1000).toFixed(1)} s; collab ops ${c.ops.retrieve}/${c.ops.free}/${c.ops.store}${s ? `, server-memory ops ${s.ops.retrieve}/${s.ops.free}/${s.ops.store}` : ''} session/free/store)\n`);
  process.stdout.write(`  ${'metric'.padEnd(28)} ${'collab'.padStart(12)} ${s ? 'server-memory'.padStart(14) : ''} ${s ? 'ratio sm/c'.padStart(9) : ''}\n`);
  process.stdout.write(line('connect (spawn..tools/list)', c.connect, s?.connect));
  process.stdout.write(line('store p50', c.storeP50, s?.storeP50));
  process.stdout.write(line('store p95', c.storeP95, s?.storeP95));
  process.stdout.write(line('session retrieve p50', c.sessP50, s?.sessP50));
  process.stdout.write(line('session retrieve p95', c.sessP95, s?.sessP95));
  process.stdout.write(line('free-text retrieve p50', c.freeP50, s?.freeP50));
  process.stdout.write(line('free-text retrieve p95', c.freeP95, s?.freeP95));
  process.stdout.write(`  ${'precision@1 (session)'.padEnd(28)} ${c.p1.toFixed(3).padStart(12)} ${s ? s.p1.toFixed(3).padStart(14) : ''}\n`);
}

await main();
