import { describe, expect, it } from 'vitest';
import { createSession } from '../../src/engine/create-session.js';
import { runPhase } from '../../src/engine/run-phase.js';
import { secretCorpus } from '../fixtures/secrets/corpus.js';
import { fakeDeps, FakeMemory, PLAN_BODY, ScriptedAgent, textAnswer, verdictAnswer } from '../helpers/fakes.js';

describe('redaction in the workflow', () => {
  const corpus = secretCorpus();
  const planted = corpus.map((c, i) => `${i + 1}. config line: ${c.planted}`).join('\n');

  function agents() {
    const planner = new ScriptedAgent('claude', { plan: [() => textAnswer(`${PLAN_BODY}\n## Configuration found\n\n${planted}\n`)], implement: [() => textAnswer('## Files Changed\n\n- `src/x.js`\n')] });
    const reviewer = new ScriptedAgent('codex', {
      review: [
        () => {
          const v = verdictAnswer('CONDITIONAL', 7, [{ severity: 'high', title: 'secrets in config' }]);
          (v.structured as { summary: string }).summary = `I saw these:\n${planted}`;
          return v;
        },
      ],
    });
    return { planner, reviewer };
  }

  it(`none of ${corpus.length} secret formats in a plan reaches the other vendor's prompt; the counts are in the events`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    const a = agents();
    const f = fakeDeps(a);
    const s = createSession(f.ledger, f.deps.config, { task: 'rate limiting', workDir: f.dir, now: new Date() });
    await runPhase(f.deps, s.id, 'plan');
    await runPhase(f.deps, s.id, 'review');
    const prompt = a.reviewer.requests[0]!.prompt;
    for (const c of corpus) expect(prompt, c.kind).not.toContain(c.secret);
    expect(prompt).toContain('[REDACTED:');
    const ev = f.events.filter((e) => e.type === 'redacted');
    expect(ev.length).toBeGreaterThan(0);
    expect(ev.reduce((n, e) => n + ('total' in e ? e.total : 0), 0)).toBeGreaterThanOrEqual(corpus.length);
    // the review (written by codex) goes to claude redacted too; claude's own plan comes back to claude as written
    await runPhase(f.deps, s.id, 'implement');
    const implPrompt = a.planner.requests.find((r) => r.phase === 'implement')!.prompt;
    const reviewPart = implPrompt.slice(implPrompt.indexOf('02-review.md —'));
    const planPart = implPrompt.slice(implPrompt.indexOf('01-plan.md —'), implPrompt.indexOf('02-review.md —'));
    expect(reviewPart.length).toBeGreaterThan(100);
    for (const c of corpus) expect(reviewPart, c.kind).not.toContain(c.secret);
    expect(planPart).toContain(corpus[1]!.secret);
  });

  it('none reaches a remote memory server (the stored artifact is the redacted one, in the ledger too)', async () => {
    const memory = new FakeMemory();
    Object.defineProperty(memory, 'remote', { value: true });
    const a = agents();
    const f = fakeDeps({ ...a, memory });
    const s = createSession(f.ledger, f.deps.config, { task: 'rate limiting', workDir: f.dir, now: new Date() });
    await runPhase(f.deps, s.id, 'plan');
    await runPhase(f.deps, s.id, 'review');
    expect(memory.records).toHaveLength(2);
    for (const r of memory.records) for (const c of corpus) expect(r.text, c.kind).not.toContain(c.secret);
    expect(f.events.some((e) => e.type === 'redacted' && e.target === 'memory')).toBe(true);
  });

  it('the local embedded memory keeps the artifact as written; the allowlist and the switch are honoured', async () => {
    const a = agents();
    const f = fakeDeps({ ...a, config: { redaction: { allow: [corpus[0]!.kind] } } });
    const s = createSession(f.ledger, f.deps.config, { task: 'rate limiting', workDir: f.dir, now: new Date() });
    await runPhase(f.deps, s.id, 'plan');
    expect(f.memory.records[0]!.text).toContain(corpus[1]!.secret);
    await runPhase(f.deps, s.id, 'review');
    expect(a.reviewer.requests[0]!.prompt).toContain(corpus[0]!.secret);
    expect(a.reviewer.requests[0]!.prompt).not.toContain(corpus[1]!.secret);

    const b = agents();
    const g = fakeDeps({ ...b, config: { redaction: { enabled: false } } });
    const s2 = createSession(g.ledger, g.deps.config, { task: 'rate limiting', workDir: g.dir, now: new Date() });
    await runPhase(g.deps, s2.id, 'plan');
    await runPhase(g.deps, s2.id, 'review');
    expect(b.reviewer.requests[0]!.prompt).toContain(corpus[1]!.secret);
  });

  it('terminal escapes are stripped from agent output before it is stored', async () => {
    const a = agents();
    a.planner.script.plan = [() => textAnswer(`${PLAN_BODY}\n\x1b[1;32mgreen\x1b[0m and a link \x1b]8;;http://x\x07here\x1b]8;;\x07\n`)];
    const f = fakeDeps(a);
    const s = createSession(f.ledger, f.deps.config, { task: 'rate limiting', workDir: f.dir, now: new Date() });
    await runPhase(f.deps, s.id, 'plan');
    const text = f.memory.records[0]!.text;
    expect(text).not.toContain('\x1b');
    expect(text).toContain('green and a link here');
  });
});
