/**
 * The whole CLI on the real binaries: `node bin/collab.js run "rate limiting"` (and the phase
 * commands) on a copy of the rate-limiting workload app with the DEFAULT roles — claude plans,
 * implements and extracts the pattern, codex reviews and validates — both pointed at the scripted
 * model server, in a loopback-only network namespace (see ../run-in-netns.sh).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatArtifact } from '../../../src/core/artifact.js';
import { VERDICT_JSON_SCHEMA } from '../../../src/core/verdict.js';
import { type ModelServer, type ModelTurn, claudeMcpTool, codexMcpTool, startModelServer } from '../../fixtures/model-server/model-server.js';
import { requireLoopbackOnly } from '../netns.js';
import { type CliWorld, cliWorld, collab, promptPhase, scriptingProxy, survivors } from './harness.js';

const SCHEMA = VERDICT_JSON_SCHEMA as unknown as Record<string, unknown>;
const MEMORY = 'byterover-mcp';

// Markers: each artifact carries one, so the next phases' prompts can be searched for it.
const PLAN_MARK = 'PLANMARK-express-rate-limit-with-redis-store';
const REVIEW_MARK = 'REVIEWMARK-fail-open-on-redis-outage';
const IMPL_MARK = 'IMPLMARK-limiter-module-written';
const VALIDATE_MARK = 'VALIDATEMARK-all-checks-pass';

const PLAN = [
  '## Overview',
  `Add rate limiting with express-rate-limit and a Redis store (${PLAN_MARK}).`,
  '',
  '## Proposed Solution',
  '1. A limiter middleware in `src/limiter.js`.',
  '2. Redis store through rate-limit-redis.',
  '',
  '## Open Questions',
  '1. Should the limiter fail open when Redis is down?',
  '2. Per-IP or per-API-key limits?',
].join('\n');

const REVIEW = {
  verdict: 'CONDITIONAL',
  score: 7.5,
  summary: 'Sound plan; decide the Redis failure mode.',
  strengths: ['uses the maintained library'],
  concerns: [{ severity: 'medium', title: REVIEW_MARK, detail: 'Redis outage blocks all traffic.', recommendation: 'Fail open with a local fallback.' }],
  answers: [
    { question: 'Should the limiter fail open when Redis is down?', answer: 'Yes, with an in-memory fallback.' },
    { question: 'Per-IP or per-API-key limits?', answer: 'Per API key when present, else per IP.' },
  ],
  filesReviewed: ['server.js'],
};

const VALIDATION = {
  verdict: 'APPROVED',
  score: 9,
  summary: `Implementation matches the amended plan (${VALIDATE_MARK}).`,
  strengths: ['fallback tested'],
  concerns: [],
  answers: [],
  filesReviewed: ['src/limiter.js'],
};

const IMPL_SUMMARY = ['## Implementation Summary', `Wrote the limiter (${IMPL_MARK}).`, '', '## Files Changed', '- `src/limiter.js` — created — the limiter middleware.'].join('\n');
const PATTERN = ['## Pattern', 'Rate limiting behind express-rate-limit with a Redis store that fails open.', '', '## When to use', 'Any Express API behind a shared Redis.'].join('\n');
const LIMITER = 'export const limiter = { windowMs: 60_000, limit: 100 };\n';

let server: ModelServer | undefined;
let proxy: { close(): Promise<void> } | undefined;
let world: CliWorld | undefined;

beforeAll(() => requireLoopbackOnly());
afterEach(async () => {
  const mark = world?.mark;
  await proxy?.close();
  await server?.close();
  world?.cleanup();
  server = undefined;
  proxy = undefined;
  world = undefined;
  // No agent, memory server or collab process of the test may outlive it.
  if (mark) expect(survivors(mark)).toEqual([]);
});

/** The direct-handoff script: every turn is known before the run. */
function directScript(limiterPath: string): { claude: ModelTurn[]; codex: ModelTurn[] } {
  return {
    claude: [
      { type: 'text', text: PLAN },
      { type: 'tool', name: 'Write', args: { file_path: limiterPath, content: LIMITER } },
      { type: 'text', text: IMPL_SUMMARY },
      { type: 'text', text: PATTERN },
    ],
    codex: [
      { type: 'json', value: REVIEW },
      { type: 'json', value: VALIDATION },
    ],
  };
}

const text = (body: unknown) => JSON.stringify(body ?? null);
const json = <T = any>(s: string): T => JSON.parse(s) as T;

function sessionDir(w: CliWorld, id: string): string {
  return path.join(w.app, '.collab', 'sessions', id);
}

function events(w: CliWorld, id: string): any[] {
  return readFileSync(path.join(sessionDir(w, id), 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A prompt request of one phase (the first request whose body starts that phase's prompt). */
function requestFor(s: ModelServer, side: 'codex' | 'claude', phase: string): any {
  const r = s.scripted(side).find((q) => promptPhase(q.body)?.phase === phase);
  if (!r) throw new Error(`no ${side} request for ${phase}`);
  return r.body;
}

describe('collab run on the real codex and claude binaries (default roles)', () => {
  it('run "rate limiting", direct handoff: pattern_extracted, 5 artifacts in memory, the file written, prompts carry the earlier artifacts, usage recorded', async () => {
    server = await startModelServer();
    world = await cliWorld(server.url);
    const limiterPath = path.join(world.app, 'src', 'limiter.js');
    const script = directScript(limiterPath);
    server.push('claude', ...script.claude);
    server.push('codex', ...script.codex);

    const run = await collab(world, ['run', 'rate limiting']);
    expect(run.stderr + run.stdout).not.toMatch(/did not store/);
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);

    const status = json((await collab(world, ['status', '--json'])).stdout);
    expect(status.state).toBe('pattern_extracted');
    expect(status.agents).toMatchObject({ planner: 'claude', reviewer: 'codex', implementer: 'claude', validator: 'codex' });
    expect(status.artifacts.map((a: any) => a.phase)).toEqual(['plan', 'review', 'implement', 'validate', 'pattern']);
    expect(status.artifacts.map((a: any) => a.verdict)).toEqual([null, 'CONDITIONAL', null, 'APPROVED', null]);
    expect(status.artifacts.map((a: any) => a.agent)).toEqual(['Claude Code', 'Codex CLI', 'Claude Code', 'Codex CLI', 'Claude Code']);
    const id: string = status.id;

    const search = json((await collab(world, ['memory', 'search', id, '--json'])).stdout);
    expect(search.count).toBe(5);

    // The implementer's Write landed in the project copy.
    expect(readFileSync(limiterPath, 'utf8')).toBe(LIMITER);
    expect(server.remaining('claude')).toBe(0);
    expect(server.remaining('codex')).toBe(0);

    // Direct handoff: each prompt carries the earlier artifacts; the review and validation carry the schema.
    const review = requestFor(server, 'codex', 'review');
    expect(text(review)).toContain(PLAN_MARK);
    expect(text(review)).toContain('Should the limiter fail open when Redis is down?');
    expect(review.text.format).toMatchObject({ type: 'json_schema', strict: true, schema: SCHEMA });
    const implement = requestFor(server, 'claude', 'implement');
    expect(text(implement)).toContain(PLAN_MARK);
    expect(text(implement)).toContain(REVIEW_MARK);
    const validate = requestFor(server, 'codex', 'validate');
    for (const m of [PLAN_MARK, REVIEW_MARK, IMPL_MARK]) expect(text(validate)).toContain(m);
    expect(validate.text.format).toMatchObject({ type: 'json_schema', schema: SCHEMA });
    const pattern = requestFor(server, 'claude', 'pattern');
    for (const m of [PLAN_MARK, REVIEW_MARK, IMPL_MARK, VALIDATE_MARK]) expect(text(pattern)).toContain(m);
    // The plan prompt came before any artifact.
    expect(text(requestFor(server, 'claude', 'plan'))).not.toContain(PLAN_MARK);

    // events.jsonl: usage, command and pids of every phase.
    const finished = events(world, id).filter((e) => e.type === 'phase.finished');
    expect(finished.map((e) => e.phase)).toEqual(['plan', 'review', 'implement', 'validate', 'pattern']);
    for (const e of finished) {
      expect(e.usage?.inputTokens, e.phase).toBeGreaterThan(0);
      expect(e.usage?.outputTokens, e.phase).toBeGreaterThan(0);
      expect(e.pids?.length, e.phase).toBeGreaterThan(0);
      expect(e.durationMs, e.phase).toBeGreaterThan(0);
    }
    expect(finished.filter((e) => ['plan', 'implement', 'pattern'].includes(e.phase)).every((e) => e.usage.costUsd > 0)).toBe(true);
    expect(finished.find((e) => e.phase === 'review').command.slice(0, 2)).toEqual(['codex', 'exec']);
    expect(finished.find((e) => e.phase === 'plan').command[0]).toBe('claude');

    // Raw logs of every agent run are kept.
    const logs = readdirSync(path.join(sessionDir(world, id), 'logs'));
    for (const f of ['plan-iter1-claude.stdout.jsonl', 'review-iter1-codex.stdout.jsonl', 'implement-iter1-claude.stdout.jsonl', 'validate-iter1-codex.stdout.jsonl']) expect(logs).toContain(f);
  });

  it('run --handoff memory: the agents store their own artifacts through the memory server and collab verifies them', async () => {
    server = await startModelServer();
    const target = server;
    const stored: Record<string, string> = {};
    const artifactOf = (phase: 'plan' | 'review' | 'implement' | 'validate' | 'pattern', id: string): string => {
      const base = { sessionId: id, phase, iteration: 1, timestamp: new Date().toISOString() };
      switch (phase) {
        case 'plan':
          return formatArtifact({ ...base, headerAgent: 'CLAUDE', agentName: 'Claude Code', title: 'Rate limiting', body: PLAN, status: 'AWAITING_CODEX_REVIEW' });
        case 'review':
          return formatArtifact({ ...base, headerAgent: 'CODEX', agentName: 'Codex CLI', title: 'Rate limiting Plan', body: `## Summary\n${REVIEW.summary}\n\n## Concerns\n- ${REVIEW_MARK}`, status: 'FEEDBACK_PROVIDED', verdict: 'CONDITIONAL', score: 7.5 });
        case 'implement':
          return formatArtifact({ ...base, headerAgent: 'CLAUDE', agentName: 'Claude Code', title: 'Rate limiting', body: IMPL_SUMMARY, status: 'READY_FOR_CODEX_VALIDATION' });
        case 'validate':
          return formatArtifact({ ...base, headerAgent: 'CODEX', agentName: 'Codex CLI', title: 'Implementation Quality', body: `## Summary\n${VALIDATION.summary}`, status: 'VALIDATION_COMPLETE_APPROVED', verdict: 'APPROVED', score: 9 });
        case 'pattern':
          return formatArtifact({ ...base, headerAgent: 'CLAUDE', agentName: 'Claude Code', title: 'Rate limiting', body: PATTERN, status: 'PATTERN_EXTRACTED' });
      }
    };
    let limiterPath = '';
    // The session id is only known once collab made the session: script each phase from its first request.
    const p = await scriptingProxy(target.url, (side, body) => {
      if (side === 'other') return;
      // The first request of a run carries no tool result yet (claude may prepend a system-reminder message).
      const first = side === 'claude' ? !text(body?.messages).includes('"tool_result"') : !text(body?.input).includes('function_call_output');
      const at = promptPhase(body);
      if (!first || !at) return;
      const artifact = artifactOf(at.phase, at.sessionId);
      stored[at.phase] = artifact;
      if (side === 'claude') {
        const turns: ModelTurn[] = [claudeMcpTool(MEMORY, 'byterover-store-knowledge', { messages: artifact })];
        if (at.phase === 'implement') turns.unshift({ type: 'tool', name: 'Write', args: { file_path: limiterPath, content: LIMITER } });
        turns.push({ type: 'text', text: `Stored the ${at.phase} artifact in memory.` });
        target.push('claude', ...turns);
      } else {
        target.push('codex', codexMcpTool(MEMORY, 'byterover-store-knowledge', { messages: artifact }), { type: 'json', value: at.phase === 'review' ? REVIEW : VALIDATION });
      }
    });
    proxy = p;
    world = await cliWorld(p.url);
    limiterPath = path.join(world.app, 'src', 'limiter.js');

    const run = await collab(world, ['run', 'rate limiting', '--handoff', 'memory']);
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/did not store/);

    const status = json((await collab(world, ['status', '--json'])).stdout);
    expect(status.state).toBe('pattern_extracted');
    expect(status.handoff).toBe('memory');
    expect(status.artifacts).toHaveLength(5);
    const id: string = status.id;
    // What collab recorded is exactly what each agent stored through its own MCP call.
    for (const a of status.artifacts) {
      expect(readFileSync(path.join(sessionDir(world, id), a.file), 'utf8'), a.phase).toBe(stored[a.phase]);
    }
    const ev = events(world, id);
    expect(ev.filter((e) => e.type === 'warning' && /did not store/.test(e.message))).toEqual([]);
    // Collab stored nothing itself: the agents did, and collab read each one back.
    expect(ev.filter((e) => e.type === 'memory.stored')).toEqual([]);
    expect(ev.filter((e) => e.type === 'memory.verified').map((e) => e.phase)).toEqual(['plan', 'review', 'implement', 'validate', 'pattern']);
    const search = json((await collab(world, ['memory', 'search', id, '--json'])).stdout);
    expect(search.count).toBe(5);
    expect(readFileSync(limiterPath, 'utf8')).toBe(LIMITER);
    // Memory-mode prompts point at memory instead of carrying the artifacts.
    expect(text(requestFor(target, 'codex', 'review'))).not.toContain(PLAN_MARK);
  });

  it('phase by phase: a non-JSON review exits 8 with a one-line reason, state stays planned, raw log kept; the retry then completes the session', async () => {
    server = await startModelServer();
    world = await cliWorld(server.url);
    const limiterPath = path.join(world.app, 'src', 'limiter.js');
    server.push('claude', { type: 'text', text: PLAN });
    const start = await collab(world, ['start', 'rate limiting']);
    expect(start.code, start.stderr).toBe(0);
    const id: string = json((await collab(world, ['status', '--json'])).stdout).id;

    // Prose under the schema, twice: collab re-runs a failed agent once (an infrastructure retry, not a review round).
    server.push('codex', { type: 'text', text: 'Looks fine to me, ship it.' }, { type: 'text', text: 'Still fine, ship it.' });
    const review = await collab(world, ['review']);
    expect(review.code, review.stderr).toBe(8);
    expect(server.scripted('codex')).toHaveLength(2);
    const errLines = review.stderr.split('\n').filter((l) => l.startsWith('collab:'));
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^collab: review: Codex CLI failed \(unparseable\): the final message is not JSON .*Still fine, ship it\./);
    const after = json((await collab(world, ['status', '--json'])).stdout);
    expect(after.state).toBe('planned');
    expect(after.artifacts).toHaveLength(1);
    expect(after.lastError).toMatchObject({ phase: 'review', code: 'AGENT_FAILED' });
    const rawLog = path.join(sessionDir(world, id), 'logs', 'review-iter1-codex.stdout.jsonl');
    // Both attempts' raw events are kept (the log is appended to).
    expect(readFileSync(rawLog, 'utf8')).toContain('Looks fine to me');
    expect(readFileSync(rawLog, 'utf8')).toContain('Still fine, ship it.');
    expect(review.stderr).toContain(path.join('logs', 'review-iter1-codex.stdout.jsonl'));

    // The failure used no review round: the same command again goes through, and so do the rest.
    server.push('codex', { type: 'json', value: REVIEW }, { type: 'json', value: VALIDATION });
    server.push('claude', { type: 'tool', name: 'Write', args: { file_path: limiterPath, content: LIMITER } }, { type: 'text', text: IMPL_SUMMARY }, { type: 'text', text: PATTERN });
    for (const cmd of ['review', 'implement', 'validate', 'extract-pattern']) {
      const r = await collab(world, [cmd]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
    }
    const done = json((await collab(world, ['status', '--json'])).stdout);
    expect(done.state).toBe('pattern_extracted');
    expect(done.artifacts.map((a: any) => a.phase)).toEqual(['plan', 'review', 'implement', 'validate', 'pattern']);
    expect(done.reviewRound).toBe(1);
    expect(existsSync(limiterPath)).toBe(true);
  });

  it('review --dry-run prints the codex command line, env and prompt and starts nothing', async () => {
    server = await startModelServer({ claude: [{ type: 'text', text: PLAN }] });
    world = await cliWorld(server.url);
    expect((await collab(world, ['start', 'rate limiting'])).code).toBe(0);
    const id: string = json((await collab(world, ['status', '--json'])).stdout).id;
    const before = server.requests.length;

    const dry = await collab(world, ['review', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(server.requests.length).toBe(before);
    expect(server.requests.filter((r) => r.side === 'codex')).toEqual([]);
    const out = dry.stdout;
    expect(out).toContain('dry run: review with codex — nothing is started');
    // One shell line a user can paste: the argv, quoted.
    expect(out).toMatch(/^ {2}codex exec --json .* -$/m);
    expect(out).toContain('--output-schema');
    expect(out).toMatch(/-c 'mcp_servers\.byterover-mcp\.command=/);
    expect(out).toContain('mcp_servers.byterover-mcp.default_tools_approval_mode="approve"');
    expect(out).toContain('environment overrides:');
    expect(out).toContain('prompt (on stdin):');
    expect(out).toContain(`# collab · review · ${id}`);
    expect(out).toContain(PLAN_MARK);
    // Nothing ran: state, artifacts and logs as before.
    const s = json((await collab(world, ['status', '--json'])).stdout);
    expect(s.state).toBe('planned');
    expect(existsSync(path.join(sessionDir(world, id), 'logs', 'review-iter1-codex.stdout.jsonl'))).toBe(false);
  });
});
