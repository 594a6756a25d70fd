import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractBody, formatArtifact, formatHeader, parseArtifact, verdictFromText, type ArtifactInput } from '../../src/core/artifact.js';
import { CollabError, type ErrorCode } from '../../src/core/errors.js';
import type { Phase, Verdict } from '../../src/core/phases.js';

const ID = 'SESSION-20251027-K9M2P7X4';
const OTHER = 'SESSION-20251028-AAAA1111';
/** The seed's garbled "⚠️" (UTF-8 read as cp1252, with its no-break space) and "✅". */
const GARBLED_WARN = '\u00e2\u0161\u00a0\u00ef\u00b8';
const GARBLED_CHECK = '\u00e2\u0153\u2026';

/** The seed document, verbatim (mojibake and \` escapes included). */
const SEED = readFileSync(new URL('../fixtures/seed/example-session.md', import.meta.url), 'utf8');
/** The five artifacts exactly as the seed stores them: the text of each `messages: \`…\`` literal. */
const SEED_ARTIFACTS = [...SEED.matchAll(/messages: `\n([\s\S]*?)\n`\n/g)].map((m) => m[1]!);
const [SEED_PLAN, SEED_REVIEW, SEED_IMPLEMENT, SEED_VALIDATE, SEED_PATTERN] = SEED_ARTIFACTS as [string, string, string, string, string];

function codeOf(fn: () => unknown): ErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollabError) {
      expect(err.message).not.toContain('\n');
      return err.code;
    }
    throw err;
  }
  return 'no error';
}

describe('the seed artifacts, as they are', () => {
  it('the fixture is the seed file, mojibake included, with five stored artifacts', () => {
    expect(SEED).toContain(`${GARBLED_CHECK} Plan created`);
    expect(SEED).toContain(`**${GARBLED_WARN} CONDITIONAL APPROVAL**`);
    expect(SEED_ARTIFACTS).toHaveLength(5);
    expect(SEED_PLAN).toContain('\\`\\`\\`typescript');
  });

  it('plan: id, phase, status, trailer, five open questions', () => {
    const p = parseArtifact(SEED_PLAN, { expectSessionId: ID, expectPhase: 'plan' });
    expect(p).toEqual({
      sessionId: ID,
      phase: 'plan',
      kind: 'CLAUDE PLAN',
      title: 'Rate Limiting for Express API',
      status: 'AWAITING_CODEX_REVIEW',
      agent: 'Claude Code',
      timestamp: '2025-10-27T10:30:00Z',
      openQuestions: [
        '**IP-based identification**: Is this sufficient, or should we use a hybrid approach with user IDs for authenticated requests?',
        '**Rate limit strictness**: Are 5 attempts for auth endpoints too restrictive? User might mistype password multiple times.',
        '**Redis failure handling**: What should happen if Redis is unavailable? Fail open or closed?',
        '**Monitoring**: Beyond basic logging, what metrics should we track?',
        '**Performance impact**: What overhead does this add to request processing?',
      ],
    });
  });

  it('review: CONDITIONAL from the mojibake "CONDITIONAL APPROVAL" section, not APPROVED', () => {
    const p = parseArtifact(SEED_REVIEW, { expectSessionId: ID, expectPhase: 'review' });
    expect(p).toMatchObject({ sessionId: ID, phase: 'review', kind: 'CODEX REVIEW', title: 'Rate Limiting Plan', status: 'FEEDBACK_PROVIDED', verdict: 'CONDITIONAL', agent: 'Codex CLI', timestamp: '2025-10-27T10:35:00Z' });
    expect(p.score).toBeUndefined();
    // "Answers to Open Questions" is not a list of open questions.
    expect(p.openQuestions).toEqual([]);
  });

  it('implementation: IMPLEMENTATION COMPLETE', () => {
    const p = parseArtifact(SEED_IMPLEMENT, { expectSessionId: ID, expectPhase: 'implement' });
    expect(p).toMatchObject({ sessionId: ID, phase: 'implement', kind: 'IMPLEMENTATION COMPLETE', title: 'Rate Limiting', status: 'READY_FOR_CODEX_VALIDATION', agent: 'Claude Code', timestamp: '2025-10-27T11:15:00Z' });
    expect(p.verdict).toBeUndefined();
  });

  it('validation: APPROVED (from the status), score 9.5', () => {
    const p = parseArtifact(SEED_VALIDATE, { expectSessionId: ID, expectPhase: 'validate' });
    expect(p).toMatchObject({ sessionId: ID, phase: 'validate', kind: 'CODEX VALIDATION', title: 'Implementation Quality', status: 'VALIDATION_COMPLETE_APPROVED', verdict: 'APPROVED', score: 9.5, agent: 'Codex CLI' });
  });

  it('pattern: session from the Source line, no status block, score from "Validated by"', () => {
    const p = parseArtifact(SEED_PATTERN, { expectSessionId: ID, expectPhase: 'pattern' });
    expect(p).toMatchObject({ sessionId: ID, phase: 'pattern', kind: 'VALIDATED PATTERN', title: 'Express Rate Limiting with Redis (Production-Ready)', score: 9.5 });
    // "Status: Production-ready, deployed successfully" is prose, not a status.
    expect(p.status).toBeUndefined();
  });

  it.each(SEED_ARTIFACTS.map((text, i) => [i, text] as const))('artifact %i parses the same with CRLF, in a ```markdown fence, and indented', (_, text) => {
    const plain = parseArtifact(text);
    expect(parseArtifact(text.replace(/\n/g, '\r\n'))).toEqual(plain);
    expect(parseArtifact(`\`\`\`markdown\n${text.trim()}\n\`\`\``)).toEqual(plain);
    expect(parseArtifact(`\n\n  ${text.trim()}\n\n`)).toEqual(plain);
  });

  it('rejects every seed artifact for another session or another phase', () => {
    const phases: Phase[] = ['plan', 'review', 'implement', 'validate', 'pattern'];
    SEED_ARTIFACTS.forEach((text, i) => {
      expect(codeOf(() => parseArtifact(text, { expectSessionId: OTHER }))).toBe('ARTIFACT_INVALID');
      expect(codeOf(() => parseArtifact(text, { expectPhase: phases[(i + 1) % 5]! }))).toBe('ARTIFACT_INVALID');
    });
  });

  it('extractBody of each seed artifact drops header and status block; re-wrapping reads back the same facts', () => {
    const phases: Phase[] = ['plan', 'review', 'implement', 'validate', 'pattern'];
    SEED_ARTIFACTS.forEach((text, i) => {
      const phase = phases[i]!;
      const body = extractBody(text);
      const orig = parseArtifact(text);
      expect(body).not.toContain(`[${ID}]`);
      expect(body).not.toMatch(/^## Status$/m);
      expect(body).not.toContain('Session ID:');
      if (phase === 'pattern') expect(body.startsWith('Validated by: Codex (Score: 9.5/10)')).toBe(true);
      const wrapped = formatArtifact({
        sessionId: ID,
        phase,
        headerAgent: phase === 'review' || phase === 'validate' ? 'CODEX' : 'CLAUDE',
        agentName: orig.agent ?? 'Claude Code',
        title: orig.title,
        body,
        status: orig.status ?? 'PATTERN_EXTRACTED',
        iteration: 1,
        timestamp: orig.timestamp ?? '2025-10-27T11:35:00Z',
      });
      const back = parseArtifact(wrapped, { expectSessionId: ID, expectPhase: phase });
      expect(back).toMatchObject({ kind: orig.kind, title: orig.title, openQuestions: orig.openQuestions });
      if (orig.verdict) expect(back.verdict).toBe(orig.verdict);
      if (orig.score !== undefined) expect(back.score).toBe(orig.score);
      expect(extractBody(wrapped)).toBe(body);
    });
  });
});

describe('formatArtifact', () => {
  const base: ArtifactInput = {
    sessionId: ID,
    phase: 'plan',
    headerAgent: 'CLAUDE',
    agentName: 'Claude Code',
    title: 'Rate limiting',
    body: '## Task Context\n\nAdd rate limiting.\n\n## Open Questions for Codex Review\n\n1. IP or user?\n2. Fail open?',
    status: 'AWAITING_CODEX_REVIEW',
    iteration: 1,
    timestamp: '2025-10-27T10:30:00Z',
  };

  it('writes the seed layout exactly', () => {
    expect(formatArtifact(base)).toBe(
      [
        `**[${ID}] CLAUDE PLAN: Rate limiting**`,
        '',
        '## Task Context',
        '',
        'Add rate limiting.',
        '',
        '## Open Questions for Codex Review',
        '',
        '1. IP or user?',
        '2. Fail open?',
        '',
        '## Status',
        'AWAITING_CODEX_REVIEW',
        '',
        `Session ID: ${ID}`,
        'Agent: Claude Code',
        'Phase: plan',
        'Iteration: 1',
        'Timestamp: 2025-10-27T10:30:00Z',
        '',
      ].join('\n'),
    );
  });

  it('writes the pattern header with a Source line, as the seed does', () => {
    const text = formatArtifact({ ...base, phase: 'pattern', title: 'Express rate limiting', status: 'PATTERN_EXTRACTED', score: 9.5 });
    expect(text.split('\n').slice(0, 4)).toEqual(['**VALIDATED PATTERN: Express rate limiting**', '', `Source: Claude-Codex Collaboration ${ID}`, '']);
    expect(text.trimEnd().endsWith('Score: 9.5/10')).toBe(true);
  });

  it('is deterministic and normalises CRLF and surrounding blank lines of the body', () => {
    const a = formatArtifact(base);
    expect(formatArtifact({ ...base })).toBe(a);
    expect(formatArtifact({ ...base, body: `\r\n\r\n${base.body.replace(/\n/g, '\r\n')}\r\n\r\n` })).toBe(a);
  });

  const cases: Array<[string, Partial<ArtifactInput>, Record<string, unknown>]> = [
    ['plan', {}, { kind: 'CLAUDE PLAN', status: 'AWAITING_CODEX_REVIEW', openQuestions: ['IP or user?', 'Fail open?'] }],
    ['codex plans', { headerAgent: 'codex' }, { kind: 'CODEX PLAN' }],
    ['review CONDITIONAL 7.5', { phase: 'review', headerAgent: 'CODEX', status: 'FEEDBACK_PROVIDED', verdict: 'CONDITIONAL', score: 7.5 }, { kind: 'CODEX REVIEW', verdict: 'CONDITIONAL', score: 7.5 }],
    ['review REJECTED 2', { phase: 'review', headerAgent: 'CODEX', status: 'FEEDBACK_PROVIDED', verdict: 'REJECTED', score: 2 }, { verdict: 'REJECTED', score: 2 }],
    ['review by claude', { phase: 'review', headerAgent: 'CLAUDE', status: 'FEEDBACK_PROVIDED', verdict: 'APPROVED', score: 10 }, { kind: 'CLAUDE REVIEW', verdict: 'APPROVED', score: 10 }],
    ['implement iteration 2', { phase: 'implement', status: 'READY_FOR_CODEX_VALIDATION', iteration: 2, title: 'Rate limiting (iteration 2)' }, { kind: 'IMPLEMENTATION COMPLETE', iteration: 2, title: 'Rate limiting (iteration 2)' }],
    ['validate APPROVED', { phase: 'validate', headerAgent: 'CODEX', status: 'VALIDATION_COMPLETE_APPROVED', verdict: 'APPROVED', score: 9.5 }, { kind: 'CODEX VALIDATION', verdict: 'APPROVED', score: 9.5 }],
    ['validate CHANGES_REQUESTED', { phase: 'validate', headerAgent: 'CODEX', status: 'CHANGES_REQUESTED', verdict: 'CHANGES_REQUESTED', score: 4 }, { status: 'CHANGES_REQUESTED', verdict: 'CHANGES_REQUESTED', score: 4 }],
    ['validate CONDITIONAL', { phase: 'validate', headerAgent: 'CODEX', status: 'CHANGES_REQUESTED', verdict: 'CONDITIONAL', score: 6 }, { verdict: 'CONDITIONAL' }],
    ['validate without verdict', { phase: 'validate', headerAgent: 'CODEX', status: 'CHANGES_REQUESTED' }, { verdict: 'CHANGES_REQUESTED' }],
    ['pattern', { phase: 'pattern', status: 'PATTERN_EXTRACTED', score: 9.5 }, { kind: 'VALIDATED PATTERN', score: 9.5 }],
    ['title with markdown and stars', { title: 'Use **Redis** *' }, { title: 'Use **Redis** *' }],
    ['title with emoji and colon', { title: '🚦 Limits: v2' }, { title: '🚦 Limits: v2' }],
    ['score rounded to 2 decimals', { phase: 'review', headerAgent: 'CODEX', status: 'FEEDBACK_PROVIDED', verdict: 'APPROVED', score: 8.333333 }, { score: 8.33 }],
    ['body with its own status heading and code', { body: '## Status of the app\n\nfine\n\n```ts\n## Status\nCHANGES_REQUESTED\n```\n\n## Status\nnot really' }, { status: 'AWAITING_CODEX_REVIEW' }],
    ['body with an unclosed fence', { body: 'text\n\n```ts\nconst a = 1;' }, { status: 'AWAITING_CODEX_REVIEW' }],
    ['body mentioning another session', { body: `Builds on ${OTHER}.\n\nSession ID: ${OTHER} was the source.` }, { sessionId: ID }],
  ];
  it.each(cases)('round-trips: %s', (_, over, expected) => {
    const input = { ...base, ...over };
    const parsed = parseArtifact(formatArtifact(input), { expectSessionId: ID, expectPhase: input.phase });
    expect(parsed).toMatchObject({ sessionId: ID, phase: input.phase, title: input.title, status: input.status, iteration: input.iteration, agent: 'Claude Code', timestamp: base.timestamp, ...expected });
  });

  const bad: Array<[string, Partial<ArtifactInput>, ErrorCode]> = [
    ['newline in title', { title: 'a\nb' }, 'ARTIFACT_INVALID'],
    ['CR in title', { title: 'a\rb' }, 'ARTIFACT_INVALID'],
    ['empty title', { title: '  ' }, 'ARTIFACT_INVALID'],
    ['empty body', { body: '\n\n  \n' }, 'ARTIFACT_INVALID'],
    ['malformed session id', { sessionId: 'SESSION-2025-K9M2' }, 'INVALID_SESSION_ID'],
    ['lower-case session id', { sessionId: ID.toLowerCase() }, 'INVALID_SESSION_ID'],
    ['status of another phase', { status: 'FEEDBACK_PROVIDED' }, 'ARTIFACT_INVALID'],
    ['validate APPROVED with CHANGES_REQUESTED status', { phase: 'validate', status: 'CHANGES_REQUESTED', verdict: 'APPROVED' }, 'ARTIFACT_INVALID'],
    ['validate CHANGES_REQUESTED with approved status', { phase: 'validate', status: 'VALIDATION_COMPLETE_APPROVED', verdict: 'CHANGES_REQUESTED' }, 'ARTIFACT_INVALID'],
    ['score above 10', { score: 10.5 }, 'ARTIFACT_INVALID'],
    ['negative score', { score: -1 }, 'ARTIFACT_INVALID'],
    ['NaN score', { score: Number.NaN }, 'ARTIFACT_INVALID'],
    ['iteration 0', { iteration: 0 }, 'ARTIFACT_INVALID'],
    ['fractional iteration', { iteration: 1.5 }, 'ARTIFACT_INVALID'],
    ['agent name on two lines', { agentName: 'Claude\nCode' }, 'ARTIFACT_INVALID'],
    ['empty timestamp', { timestamp: '' }, 'ARTIFACT_INVALID'],
    ['odd header agent', { headerAgent: 'cl@ude' }, 'ARTIFACT_INVALID'],
    ['empty header agent', { headerAgent: '' }, 'ARTIFACT_INVALID'],
  ];
  it.each(bad)('rejects %s', (_, over, code) => {
    expect(codeOf(() => formatArtifact({ ...base, ...over }))).toBe(code);
  });

  it('formatHeader gives the header line the prompts ask for', () => {
    expect(formatHeader({ sessionId: ID, phase: 'review', headerAgent: 'CODEX', title: 'Rate Limiting Plan' })).toBe(`**[${ID}] CODEX REVIEW: Rate Limiting Plan**`);
    expect(formatHeader({ sessionId: ID, phase: 'implement', headerAgent: 'CLAUDE', title: 'Rate Limiting' })).toBe(`**[${ID}] IMPLEMENTATION COMPLETE: Rate Limiting**`);
    expect(formatHeader({ sessionId: ID, phase: 'validate', headerAgent: 'CODEX', title: 'Implementation Quality' })).toBe(`**[${ID}] CODEX VALIDATION: Implementation Quality**`);
    expect(formatHeader({ sessionId: ID, phase: 'pattern', headerAgent: 'CLAUDE', title: 'X' })).toBe('**VALIDATED PATTERN: X**');
  });
});

describe('parseArtifact tolerance', () => {
  const review = (over: { header?: string; body?: string; status?: string; trailer?: string } = {}) =>
    [
      over.header ?? `**[${ID}] CODEX REVIEW: Plan**`,
      '',
      over.body ?? '## Overall Assessment\n\nFine.',
      '',
      over.status ?? '## Status\nFEEDBACK_PROVIDED',
      '',
      over.trailer ?? `Session ID: ${ID}\nAgent: Codex CLI`,
    ].join('\n');

  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['plain', review(), { phase: 'review', status: 'FEEDBACK_PROVIDED', agent: 'Codex CLI' }],
    ['# heading header', review({ header: `# [${ID}] CODEX REVIEW: Plan` }), { title: 'Plan' }],
    ['## bold heading header', review({ header: `## **[${ID}] CODEX REVIEW: Plan**` }), { title: 'Plan' }],
    ['bold that ends after the colon', review({ header: `**[${ID}] CODEX REVIEW:** Plan` }), { title: 'Plan' }],
    ['emoji before the header', review({ header: `✅ **[${ID}] CODEX REVIEW: Plan**` }), { title: 'Plan' }],
    ['mixed-case kind', review({ header: `**[${ID}] Codex Review: Plan**` }), { kind: 'CODEX REVIEW' }],
    ['preamble before the header', `Here is my review.\n\n${review()}`, { title: 'Plan' }],
    ['leading whitespace everywhere', review().replace(/^/gm, '   '), { status: 'FEEDBACK_PROVIDED', agent: 'Codex CLI' }],
    ['extra blank lines', review().replace(/\n/g, '\n\n\n'), { status: 'FEEDBACK_PROVIDED', agent: 'Codex CLI' }],
    ['CRLF', review().replace(/\n/g, '\r\n'), { status: 'FEEDBACK_PROVIDED' }],
    ['BOM', `\uFEFF${review()}`, { status: 'FEEDBACK_PROVIDED' }],
    ['status inline in heading', review({ status: '## Status: FEEDBACK_PROVIDED' }), { status: 'FEEDBACK_PROVIDED' }],
    ['bold status token', review({ status: '## Status\n\n**FEEDBACK_PROVIDED**' }), { status: 'FEEDBACK_PROVIDED' }],
    ['status token with emoji and prose', review({ status: '### Status\n✅ FEEDBACK_PROVIDED — over to the implementer' }), { status: 'FEEDBACK_PROVIDED' }],
    ['status with spaces', review({ status: '## Status\nFeedback provided' }), { status: 'FEEDBACK_PROVIDED' }],
    ['bold status pseudo-heading', review({ status: '**Status**\nFEEDBACK_PROVIDED' }), { status: 'FEEDBACK_PROVIDED', agent: 'Codex CLI' }],
    ['Status: key line', review({ status: '**Status:** FEEDBACK_PROVIDED' }), { status: 'FEEDBACK_PROVIDED', agent: 'Codex CLI' }],
    ['bold trailer keys and backticks', review({ trailer: `**Session ID:** \`${ID}\`\n- **Agent**: Codex CLI\n**Iteration:** 2` }), { agent: 'Codex CLI', iteration: 2 }],
    ['trailer without Session ID', review({ trailer: 'Agent: Codex CLI' }), { sessionId: ID }],
    ['Phase trailer alias', review({ trailer: `Session ID: ${ID}\nPhase: Review` }), { phase: 'review' }],
    ['no trailer at all', review({ trailer: '' }), { sessionId: ID }],
    ['seed verdict section (mojibake)', review({ body: `## Verdict\n\n**${GARBLED_WARN} CONDITIONAL APPROVAL**\n\nMust address:\n1. ${GARBLED_CHECK} Hybrid keys` }), { verdict: 'CONDITIONAL' }],
    ['verdict section with emoji', review({ body: '## Verdict\n\n**⚠️ CONDITIONAL APPROVAL**' }), { verdict: 'CONDITIONAL' }],
    ['verdict in the heading', review({ body: '## Verdict: APPROVED' }), { verdict: 'APPROVED' }],
    ['final verdict heading', review({ body: '### Final Verdict\n\n✅ Approved — ship it.' }), { verdict: 'APPROVED' }],
    ['approved with conditions', review({ body: '## Verdict\n\nApproved with conditions: see above.' }), { verdict: 'CONDITIONAL' }],
    ['NOT APPROVED', review({ body: '## Verdict\n\n**❌ NOT APPROVED**' }), { verdict: 'CHANGES_REQUESTED' }],
    ['changes requested, spaced', review({ body: '## Verdict\n\nCHANGES REQUESTED' }), { verdict: 'CHANGES_REQUESTED' }],
    ['rejected', review({ body: '## Verdict\n\n**REJECTED** — start over' }), { verdict: 'REJECTED' }],
    ['bold verdict key line', review({ body: '**Verdict:** CHANGES_REQUESTED' }), { verdict: 'CHANGES_REQUESTED' }],
    ['bold verdict pseudo-heading', review({ body: '**Verdict:**\n\n**APPROVED**\n\n**Notes**\nnone' }), { verdict: 'APPROVED' }],
    ['verdict trailer wins over prose', review({ body: '## Verdict\n\nAPPROVED', trailer: `Session ID: ${ID}\nVerdict: CONDITIONAL` }), { verdict: 'CONDITIONAL' }],
    ['verdict words inside code are ignored', review({ body: '```\n## Verdict\nREJECTED\n```\n\n## Verdict\n\nAPPROVED' }), { verdict: 'APPROVED' }],
    ['overall score, bold', review({ body: '**Overall Score: 9.5/10**' }), { score: 9.5 }],
    ['overall score, loose spacing', review({ body: 'Overall score - 7 / 10' }), { score: 7 }],
    ['labelled rating', review({ body: 'Rating: 6/10' }), { score: 6 }],
    ['bare score line', review({ body: '## Summary\n\n**9/10**' }), { score: 9 }],
    ['score trailer wins', review({ body: '**Overall Score: 5/10**', trailer: `Session ID: ${ID}\nScore: 8/10` }), { score: 8 }],
    ['score trailer as a bare number', review({ trailer: `Session ID: ${ID}\nScore: 8.5` }), { score: 8.5 }],
    ['overall wins over a per-file score', review({ body: '### a.ts\n\n**Score: 3/10**\n\n**Overall Score: 8/10**' }), { score: 8 }],
    ['not a score: 95/100', review({ body: 'Coverage 95/100' }), { score: undefined }],
  ];
  it.each(cases)('%s', (_, text, expected) => {
    const p = parseArtifact(text, { expectSessionId: ID, expectPhase: 'review' });
    for (const [k, v] of Object.entries(expected)) expect(p[k as keyof typeof p], k).toEqual(v);
  });

  it('validation verdict from its status', () => {
    const text = `**[${ID}] CODEX VALIDATION: Q**\n\nbody\n\n## Status\nCHANGES_REQUESTED\n\nSession ID: ${ID}`;
    expect(parseArtifact(text).verdict).toBe('CHANGES_REQUESTED');
    expect(parseArtifact(text.replace('CHANGES_REQUESTED', 'VALIDATION_COMPLETE_APPROVED')).verdict).toBe('APPROVED');
  });

  it('open questions: bold heading, ")" numbering, wrapped items, stop at the next heading', () => {
    const text = [
      `**[${ID}] CLAUDE PLAN: P**`,
      '',
      '**Open Questions:**',
      'Please answer:',
      '1) First question',
      '   continued here?',
      '2) Second?',
      '',
      '**Next**',
      '3) not a question',
      '',
      '## Status',
      'AWAITING_CODEX_REVIEW',
    ].join('\n');
    expect(parseArtifact(text).openQuestions).toEqual(['First question continued here?', 'Second?']);
  });

  it('open questions: # heading, a closing paragraph is not part of the last item', () => {
    const text = `**[${ID}] CLAUDE PLAN: P**\n\n### Open questions\n\n1. A?\n\n2. B?\n\nThanks.\n\n## Status\nAWAITING_CODEX_REVIEW`;
    expect(parseArtifact(text).openQuestions).toEqual(['A?', 'B?']);
  });

  it('pattern: id from trailer when there is no Source line; bracketed pattern header', () => {
    expect(parseArtifact(`**VALIDATED PATTERN: X**\n\nbody\n\n## Status\nPATTERN_EXTRACTED\n\nSession ID: ${ID}`).sessionId).toBe(ID);
    expect(parseArtifact(`**[${ID}] VALIDATED PATTERN: X**\n\n**Source:** collab ${ID}\n\nbody`).sessionId).toBe(ID);
  });

  it('a preamble and then the artifact in a ```markdown block with nested fences', () => {
    const art = `**[${ID}] CODEX REVIEW: Plan**\n\n\`\`\`ts\nconst a = 1;\n\`\`\`\n\n## Verdict\n\nAPPROVED\n\n## Status\nFEEDBACK_PROVIDED\n\nSession ID: ${ID}\nScore: 9/10`;
    const p = parseArtifact(`Here is my review:\n\n\`\`\`markdown\n${art}\n\`\`\`\n\nBye.`, { expectSessionId: ID });
    expect(p).toMatchObject({ phase: 'review', verdict: 'APPROVED', score: 9, status: 'FEEDBACK_PROVIDED' });
  });

  it('a 4-backtick fence is not closed by an inner 3-backtick line', () => {
    const text = `**[${ID}] CLAUDE PLAN: P**\n\n\`\`\`\`md\n\`\`\`\n## Status\nPATTERN_EXTRACTED\n\`\`\`\`\n\n## Status\nAWAITING_CODEX_REVIEW`;
    expect(parseArtifact(text).status).toBe('AWAITING_CODEX_REVIEW');
  });

  it('open questions as bullets when none are numbered; kind kept as written', () => {
    const text = `**[${ID}] GPT_5 PLAN: P**\n\n## Open Questions\n\n- A?\n- B?\n\n## Status\nAWAITING_CODEX_REVIEW`;
    expect(parseArtifact(text)).toMatchObject({ kind: 'GPT_5 PLAN', phase: 'plan', openQuestions: ['A?', 'B?'] });
  });

  it('a fenced ## Status is not the status block', () => {
    const text = `**[${ID}] CLAUDE PLAN: P**\n\n## Status\nAWAITING_CODEX_REVIEW\n\nSession ID: ${ID}\n\n\`\`\`md\n## Status\nPATTERN_EXTRACTED\n\`\`\``;
    expect(parseArtifact(text).status).toBe('AWAITING_CODEX_REVIEW');
  });
});

describe('parseArtifact rejections', () => {
  const ok = `**[${ID}] CODEX REVIEW: Plan**\n\nbody\n\n## Status\nFEEDBACK_PROVIDED\n\nSession ID: ${ID}\nPhase: review`;
  const cases: Array<[string, string, ErrorCode, { expectSessionId?: string; expectPhase?: Phase }?]> = [
    ['no header', 'just some text\n\n## Status\nFEEDBACK_PROVIDED', 'ARTIFACT_INVALID'],
    ['empty text', '', 'ARTIFACT_INVALID'],
    ['header without id', '**CODEX REVIEW: Plan**\n\nbody', 'ARTIFACT_INVALID'],
    ['header only inside a code fence', '```\n' + ok + '\n```\nprose', 'ARTIFACT_INVALID'],
    ['short id in header', ok.replace(`[${ID}]`, '[SESSION-20251027-K9M2]'), 'INVALID_SESSION_ID'],
    ['dashed date in header', ok.replace(`[${ID}]`, '[SESSION-2025-10-27-K9M2P7X4]'), 'INVALID_SESSION_ID'],
    ['lower-case id in header', ok.replace(`[${ID}]`, `[${ID.toLowerCase()}]`), 'INVALID_SESSION_ID'],
    ['impossible date in header', ok.replace(`[${ID}]`, '[SESSION-20251332-K9M2P7X4]'), 'INVALID_SESSION_ID'],
    ['9-char suffix in header', ok.replace(`[${ID}]`, `[${ID}X]`), 'INVALID_SESSION_ID'],
    ['placeholder in header', ok.replace(`[${ID}]`, '[SESSION-ID]'), 'INVALID_SESSION_ID'],
    ['malformed trailer id', ok.replace(`Session ID: ${ID}`, 'Session ID: SESSION-20251027-k9m2p7x4'), 'INVALID_SESSION_ID'],
    ['header and trailer disagree', ok.replace(`Session ID: ${ID}`, `Session ID: ${OTHER}`), 'ARTIFACT_INVALID'],
    ['other session expected', ok, 'ARTIFACT_INVALID', { expectSessionId: OTHER }],
    ['malformed expected id', ok, 'INVALID_SESSION_ID', { expectSessionId: 'SESSION-1' }],
    ['other phase expected', ok, 'ARTIFACT_INVALID', { expectPhase: 'validate' }],
    ['Phase trailer disagrees', ok.replace('Phase: review', 'Phase: plan'), 'ARTIFACT_INVALID'],
    ['unknown Phase trailer', ok.replace('Phase: review', 'Phase: deploy'), 'ARTIFACT_INVALID'],
    ['unknown status', ok.replace('FEEDBACK_PROVIDED', 'DONE'), 'ARTIFACT_INVALID'],
    ['status of another phase', ok.replace('FEEDBACK_PROVIDED', 'AWAITING_CODEX_REVIEW'), 'ARTIFACT_INVALID'],
    ['empty status block', `**[${ID}] CODEX REVIEW: Plan**\n\nbody\n\n## Status\n`, 'ARTIFACT_INVALID'],
    ['score above 10', ok.replace('body', '**Overall Score: 11/10**'), 'ARTIFACT_INVALID'],
    ['score trailer above 10', `${ok}\nScore: 12/10`, 'ARTIFACT_INVALID'],
    ['garbled score trailer', `${ok}\nScore: high`, 'ARTIFACT_INVALID'],
    ['unknown verdict trailer', `${ok}\nVerdict: MAYBE`, 'ARTIFACT_INVALID'],
    ['iteration 0', `${ok}\nIteration: 0`, 'ARTIFACT_INVALID'],
    ['iteration not a number', `${ok}\nIteration: two`, 'ARTIFACT_INVALID'],
    [
      'validation verdict contradicts status',
      `**[${ID}] CODEX VALIDATION: Q**\n\nbody\n\n## Status\nCHANGES_REQUESTED\n\nSession ID: ${ID}\nVerdict: APPROVED`,
      'ARTIFACT_INVALID',
    ],
    [
      'validation CONDITIONAL with approved status',
      `**[${ID}] CODEX VALIDATION: Q**\n\n## Verdict\n\nCONDITIONAL APPROVAL\n\n## Status\nVALIDATION_COMPLETE_APPROVED`,
      'ARTIFACT_INVALID',
    ],
    ['pattern with a malformed Source id', `**VALIDATED PATTERN: X**\n\nSource: Claude-Codex Collaboration SESSION-2025-XYZ\n\nbody`, 'INVALID_SESSION_ID'],
    ['pattern naming no session', `**VALIDATED PATTERN: X**\n\nSource: a chat\n\nbody`, 'ARTIFACT_INVALID'],
    ['pattern Source and trailer disagree', `**VALIDATED PATTERN: X**\n\nSource: collab ${ID}\n\nbody\n\n## Status\nPATTERN_EXTRACTED\n\nSession ID: ${OTHER}`, 'ARTIFACT_INVALID'],
  ];
  it.each(cases)('%s', (_, text, code, opts) => {
    expect(codeOf(() => parseArtifact(text, opts))).toBe(code);
  });
});

describe('extractBody', () => {
  const body = '## Task Context\n\nDo it.\n\n```ts\nconst a = 1;\n```';
  const trailer = `## Status\nAWAITING_CODEX_REVIEW\n\nSession ID: ${ID}\nAgent: Claude Code\nPhase: plan\nIteration: 1\nTimestamp: 2025-10-27T10:30:00Z`;
  const cases: Array<[string, string, string]> = [
    ['a bare body', body, body],
    ['header + body', `**[${ID}] CLAUDE PLAN: X**\n\n${body}`, body],
    ['body + status + trailer', `${body}\n\n${trailer}`, body],
    ['whole artifact', `**[${ID}] CLAUDE PLAN: X**\n\n${body}\n\n${trailer}\n`, body],
    ['```markdown fence', `\`\`\`markdown\n**[${ID}] CLAUDE PLAN: X**\n\n${body}\n\n${trailer}\n\`\`\``, body],
    ['```md fence with CRLF', `\`\`\`md\r\n${body.replace(/\n/g, '\r\n')}\r\n\`\`\`\r\n`, body],
    ['bare fence around plain text', '```\nhello\n```', 'hello'],
    ['separator before status', `${body}\n\n---\n\n${trailer}`, body],
    ['inline status heading', `${body}\n\n## Status: AWAITING_CODEX_REVIEW\n\nSession ID: ${ID}`, body],
    ['trailer lines without a status heading', `${body}\n\nSession ID: ${ID}\nAgent: Claude Code`, body],
    ['pattern header and Source line', `**VALIDATED PATTERN: X**\n\nSource: Claude-Codex Collaboration ${ID}\n\n${body}`, body],
    ['header with a wrong id is still stripped (collab re-wraps with its own)', `**[SESSION-BAD] CLAUDE PLAN: X**\n\n${body}`, body],
  ];
  it.each(cases)('%s', (_, input, expected) => {
    expect(extractBody(input)).toBe(expected);
  });

  it('keeps what is not a wrapper or a trailer', () => {
    // Starts and ends with code blocks: a bare opener here is not a wrapper.
    const twoBlocks = '```\na\n```\n\ntext\n\n```\nb\n```';
    expect(extractBody(twoBlocks)).toBe(twoBlocks);
    // A status section with prose after it is content, not our trailer.
    const prose = `${body}\n\n## Status\nAWAITING_CODEX_REVIEW\n\nThe team still has to decide.`;
    expect(extractBody(prose)).toBe(prose);
    // "## Status Codes" is a body section.
    const codes = `${body}\n\n## Status Codes\n\n429 when limited.`;
    expect(extractBody(codes)).toBe(codes);
    // Key lines that are no trailer stay.
    const notes = `${body}\n\nAgent: the limiter`;
    expect(extractBody(notes)).toBe(notes);
  });
});

describe('verdictFromText', () => {
  const cases: Array<[string, Verdict | undefined]> = [
    [`**${GARBLED_WARN} CONDITIONAL APPROVAL**`, 'CONDITIONAL'],
    [`${GARBLED_CHECK} APPROVED`, 'APPROVED'],
    ['✅ APPROVED FOR PRODUCTION', 'APPROVED'],
    ['APPROVED', 'APPROVED'],
    ['LGTM', 'APPROVED'],
    ['NOT APPROVED', 'CHANGES_REQUESTED'],
    ['Unapproved', 'CHANGES_REQUESTED'],
    ['CHANGES_REQUESTED', 'CHANGES_REQUESTED'],
    ['request changes', 'CHANGES_REQUESTED'],
    ['Needs work', 'CHANGES_REQUESTED'],
    ['❌ REJECTED', 'REJECTED'],
    ['disapproved', 'REJECTED'],
    ['conditionally approved', 'CONDITIONAL'],
    ['Solid plan overall', undefined],
    ['', undefined],
  ];
  it.each(cases)('%j → %s', (text, v) => {
    expect(verdictFromText(text)).toBe(v);
  });
});
