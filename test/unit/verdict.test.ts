import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatArtifact, parseArtifact } from '../../src/core/artifact.js';
import { CollabError, type ErrorCode } from '../../src/core/errors.js';
import { statusFor, VERDICTS } from '../../src/core/phases.js';
import { CONCERN_SEVERITIES, crossCheckVerdict, parseVerdict, renderVerdictBody, VERDICT_JSON_SCHEMA, verdictJsonSchema, type VerdictJson } from '../../src/core/verdict.js';

const ID = 'SESSION-20251027-K9M2P7X4';

const sample: VerdictJson = {
  verdict: 'CONDITIONAL',
  score: 7.5,
  summary: 'Solid foundation; several concerns first.',
  strengths: ['Correct library selection', 'Redis for multi-instance deployments'],
  concerns: [
    { severity: 'high', title: 'IP-based identification', detail: 'Offices behind NAT share one IP.', recommendation: 'Key by user id when authenticated, IP otherwise.' },
    { severity: 'medium', title: 'Auth limit too strict', detail: '5 attempts locks users out.', recommendation: 'Use 10-20 for login.' },
  ],
  answers: [
    { question: 'IP-based identification sufficient?', answer: 'No, use a hybrid.' },
    { question: 'Redis failure handling?', answer: 'Decide fail-open vs fail-closed explicitly.' },
  ],
  filesReviewed: ['src/app.js'],
};

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

function walk(node: unknown, visit: (n: Record<string, unknown>, path: string) => void, path = '$'): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${path}[${i}]`));
  else if (node && typeof node === 'object') {
    visit(node as Record<string, unknown>, path);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${path}.${k}`);
  }
}

function withoutDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDescriptions);
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'description' && k !== '$schema').map(([k, v]) => [k, withoutDescriptions(v)]));
  }
  return node;
}

describe('VERDICT_JSON_SCHEMA', () => {
  it('is strict in the structured-output form: every object closed, every key required', () => {
    let objects = 0;
    walk(VERDICT_JSON_SCHEMA, (n, path) => {
      for (const banned of ['oneOf', 'anyOf', 'allOf', 'format', 'nullable', '$ref', 'default']) expect(n, `${path} has ${banned}`).not.toHaveProperty(banned);
      if (n.type === 'object') {
        objects++;
        expect(n.additionalProperties, path).toBe(false);
        expect([...(n.required as string[])].sort(), path).toEqual(Object.keys(n.properties as object).sort());
      }
    });
    expect(objects).toBe(3);
  });

  it('has exactly the contract keys and enums', () => {
    expect(Object.keys(VERDICT_JSON_SCHEMA.properties)).toEqual(['verdict', 'score', 'summary', 'strengths', 'concerns', 'answers', 'filesReviewed']);
    expect(VERDICT_JSON_SCHEMA.properties.verdict.enum).toEqual([...VERDICTS]);
    expect(VERDICT_JSON_SCHEMA.properties.concerns.items.properties.severity.enum).toEqual([...CONCERN_SEVERITIES]);
    expect(Object.keys(VERDICT_JSON_SCHEMA.properties.concerns.items.properties)).toEqual(['severity', 'title', 'detail', 'recommendation']);
    expect(Object.keys(VERDICT_JSON_SCHEMA.properties.answers.items.properties)).toEqual(['question', 'answer']);
    expect(VERDICT_JSON_SCHEMA.properties.score).toMatchObject({ type: 'number', minimum: 0, maximum: 10 });
  });

  it('is mirrored exactly by the zod schema', () => {
    expect(withoutDescriptions(z.toJSONSchema(verdictJsonSchema))).toEqual(withoutDescriptions(VERDICT_JSON_SCHEMA));
  });

  it('survives JSON serialisation (it is written to a file for --output-schema)', () => {
    expect(JSON.parse(JSON.stringify(VERDICT_JSON_SCHEMA))).toEqual(VERDICT_JSON_SCHEMA);
  });
});

describe('parseVerdict', () => {
  const json = JSON.stringify(sample);
  const accepted: Array<[string, unknown]> = [
    ['an object', sample],
    ['a JSON string', json],
    ['pretty JSON with whitespace', `\n  ${JSON.stringify(sample, null, 2)}\n`],
    ['a ```json fence', `\`\`\`json\n${JSON.stringify(sample, null, 2)}\n\`\`\``],
    ['a bare fence with prose around', `Here it is:\n\`\`\`\n${json}\n\`\`\`\nDone.`],
    ['prose around a bare object', `My verdict: ${json} — thanks`],
    ['CRLF', JSON.stringify(sample, null, 2).replace(/\n/g, '\r\n')],
    ['lower-case verdict', { ...sample, verdict: 'conditional' }],
    ['spelled-out verdict', { ...sample, verdict: 'Conditional approval' }],
    ['spaced verdict', JSON.stringify({ ...sample, verdict: 'changes requested' })],
  ];
  it.each(accepted)('accepts %s', (_, value) => {
    const v = parseVerdict(value);
    expect(v.score).toBe(7.5);
    expect(v.concerns).toHaveLength(2);
  });

  it('normalises verdict spellings', () => {
    expect(parseVerdict({ ...sample, verdict: 'changes requested' }).verdict).toBe('CHANGES_REQUESTED');
    expect(parseVerdict({ ...sample, verdict: 'approve' }).verdict).toBe('APPROVED');
    expect(parseVerdict({ ...sample, verdict: 'request-changes' }).verdict).toBe('CHANGES_REQUESTED');
  });

  const { answers: _a, filesReviewed: _f, ...missingTwo } = sample;
  const rejected: Array<[string, unknown, RegExp]> = [
    ['not JSON', 'I approve of this plan.', /not JSON/],
    ['empty string', '', /not JSON/],
    ['an array', [sample], /\(root\)/],
    ['null', null, /\(root\)/],
    ['missing keys, all listed', missingTwo, /answers.*filesReviewed/],
    ['an extra key', { ...sample, extra: 1 }, /extra/],
    ['an extra key in a concern', { ...sample, concerns: [{ ...sample.concerns[0], impact: 'x' }] }, /concerns\.0/],
    ['unknown verdict', { ...sample, verdict: 'MAYBE' }, /verdict/],
    ['score above 10', { ...sample, score: 11 }, /score/],
    ['negative score', { ...sample, score: -1 }, /score/],
    ['score as a string', { ...sample, score: '9' }, /score/],
    ['bad severity', { ...sample, concerns: [{ ...sample.concerns[0], severity: 'blocker' }] }, /concerns\.0\.severity/],
    ['answer without question', { ...sample, answers: [{ answer: 'x' }] }, /answers\.0\.question/],
  ];
  it.each(rejected)('rejects %s with one ARTIFACT_INVALID line', (_, value, message) => {
    expect(codeOf(() => parseVerdict(value))).toBe('ARTIFACT_INVALID');
    expect(() => parseVerdict(value)).toThrow(message);
  });
});

describe('crossCheckVerdict', () => {
  const critical = { severity: 'critical' as const, title: 'No Redis failure policy', detail: 'd', recommendation: 'r' };
  const cases: Array<[string, VerdictJson, string, RegExp[]]> = [
    ['plain conditional', sample, 'CONDITIONAL', []],
    ['approved, high score', { ...sample, verdict: 'APPROVED', score: 9 }, 'APPROVED', []],
    ['approved with a critical concern', { ...sample, verdict: 'APPROVED', concerns: [critical] }, 'CHANGES_REQUESTED', [/APPROVED.*1 critical.*No Redis failure policy.*CHANGES_REQUESTED/]],
    ['conditional with a critical concern', { ...sample, concerns: [...sample.concerns, critical] }, 'CHANGES_REQUESTED', [/CONDITIONAL.*critical/]],
    ['changes requested with a critical concern', { ...sample, verdict: 'CHANGES_REQUESTED', score: 4, concerns: [critical] }, 'CHANGES_REQUESTED', []],
    ['rejected with a critical concern', { ...sample, verdict: 'REJECTED', score: 1, concerns: [critical] }, 'REJECTED', []],
    ['approved with score 3', { ...sample, verdict: 'APPROVED', score: 3 }, 'APPROVED', [/APPROVED.*3\/10.*below 5/]],
    ['approved with score 5', { ...sample, verdict: 'APPROVED', score: 5 }, 'APPROVED', []],
    ['rejected with score 9.5', { ...sample, verdict: 'REJECTED', score: 9.5 }, 'REJECTED', [/REJECTED.*9\.5\/10/]],
    ['approved, critical and score 2', { ...sample, verdict: 'APPROVED', score: 2, concerns: [critical] }, 'CHANGES_REQUESTED', [/critical/, /below 5/]],
  ];
  it.each(cases)('%s', (_, v, effective, flags) => {
    const r = crossCheckVerdict(v);
    expect(r.effective).toBe(effective);
    expect(r.flags).toHaveLength(flags.length);
    flags.forEach((re, i) => expect(r.flags[i]).toMatch(re));
  });

  it('flags unanswered open questions', () => {
    expect(crossCheckVerdict(sample, { openQuestions: ['a', 'b'] }).flags).toEqual([]);
    expect(crossCheckVerdict(sample, { openQuestions: ['a', 'b', 'c'] }).flags).toEqual([expect.stringMatching(/3 open question.*covers 2/)]);
  });
});

describe('renderVerdictBody', () => {
  it('renders a review in the seed form', () => {
    const body = renderVerdictBody('review', sample);
    expect(body.split('\n').slice(0, 5)).toEqual(['## Overall Assessment', '', 'Solid foundation; several concerns first.', '', '**Overall Score: 7.5/10**']);
    expect(body).toContain('## Strengths\n\n✅ Correct library selection\n✅ Redis for multi-instance deployments');
    expect(body).toContain('## Concerns\n\n### 1. IP-based identification\n\n**Severity:** high\n\nOffices behind NAT share one IP.\n\n**Recommendation:** Key by user id');
    expect(body).toContain('### 2. Auth limit too strict');
    expect(body).toContain('## Answers to Open Questions\n\n**Q1: IP-based identification sufficient?**\nA: No, use a hybrid.\n\n**Q2: Redis failure handling?**');
    expect(body).not.toContain('## Files Reviewed');
    expect(body.endsWith('## Verdict\n\n**⚠️ CONDITIONAL APPROVAL**')).toBe(true);
  });

  it('renders a validation with score first and the files reviewed', () => {
    const v: VerdictJson = { ...sample, verdict: 'APPROVED', score: 9.5, answers: [], filesReviewed: ['src/config/redis.ts', 'src/middleware/rateLimiter.ts'] };
    const body = renderVerdictBody('validate', v);
    expect(body.split('\n').slice(0, 3)).toEqual(['## Validation Summary', '', '**Overall Score: 9.5/10**']);
    expect(body).toContain('## Files Reviewed\n\n- `src/config/redis.ts`\n- `src/middleware/rateLimiter.ts`');
    expect(body).not.toContain('## Answers to Open Questions');
    expect(body).toContain('**✅ APPROVED**');
  });

  it('uses "Critical Concerns" when there is one and shows the flags and the effective verdict', () => {
    const v: VerdictJson = { ...sample, verdict: 'APPROVED', score: 3, concerns: [{ severity: 'critical', title: 'Fails open\nsilently', detail: 'x', recommendation: 'y' }] };
    const body = renderVerdictBody('review', v);
    expect(body).toContain('## Critical Concerns\n\n### 1. Fails open silently');
    expect(body).toMatch(/## Verdict\n\n\*\*🔄 CHANGES REQUESTED\*\*\n\nThe reviewer answered APPROVED; collab treats it as CHANGES_REQUESTED\./);
    expect(body).toMatch(/^> ⚠️ collab check: verdict APPROVED comes with 1 critical concern/m);
    expect(body).toMatch(/^> ⚠️ collab check: verdict APPROVED with a score of 3\/10/m);
  });

  it('says so when lists are empty', () => {
    const body = renderVerdictBody('review', { ...sample, strengths: [], concerns: [], answers: [] });
    expect(body).toContain('## Strengths\n\nNone listed.');
    expect(body).toContain('## Concerns\n\nNone raised.');
    expect(body).toContain('## Answers to Open Questions\n\nNo open questions were answered.');
    expect(renderVerdictBody('validate', { ...sample, filesReviewed: [] })).toContain('## Files Reviewed\n\nNone listed');
  });

  const combos: Array<['review' | 'validate', VerdictJson]> = [
    ['review', sample],
    ['review', { ...sample, verdict: 'APPROVED', score: 10 }],
    ['review', { ...sample, verdict: 'REJECTED', score: 1 }],
    ['review', { ...sample, verdict: 'APPROVED', concerns: [{ severity: 'critical', title: 't', detail: 'd', recommendation: 'r' }] }],
    ['validate', { ...sample, verdict: 'APPROVED', score: 9.5 }],
    ['validate', { ...sample, verdict: 'CHANGES_REQUESTED', score: 4 }],
    ['validate', { ...sample, verdict: 'CONDITIONAL', score: 6 }],
  ];
  it.each(combos)('%s body wrapped by formatArtifact reads back its effective verdict and score, even without trailers', (phase, v) => {
    const { effective } = crossCheckVerdict(v);
    const input = {
      sessionId: ID,
      phase,
      headerAgent: 'CODEX',
      agentName: 'Codex CLI',
      title: 'T',
      body: renderVerdictBody(phase, v),
      status: statusFor(phase, effective),
      iteration: 1,
      timestamp: '2025-10-27T10:35:00Z',
    } as const;
    const withTrailers = parseArtifact(formatArtifact({ ...input, verdict: effective, score: v.score }), { expectSessionId: ID, expectPhase: phase });
    expect([withTrailers.verdict, withTrailers.score]).toEqual([effective, v.score]);
    const proseOnly = parseArtifact(formatArtifact(input), { expectSessionId: ID, expectPhase: phase });
    expect([proseOnly.verdict, proseOnly.score]).toEqual([effective, v.score]);
  });
});
