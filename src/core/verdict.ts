/**
 * The verdict contract of review and validate: one JSON schema handed to the agents (strict, in the
 * form OpenAI structured output accepts), one zod mirror that checks what comes back (codex does not
 * enforce `--output-schema` itself), a renderer into the seed's markdown, and a cross-check that keeps
 * an "approved" with a critical concern from counting as approved.
 */
import { z } from 'zod';
import { formatScore } from './artifact.js';
import { CollabError } from './errors.js';
import { VERDICTS, type Verdict } from './phases.js';

/** Concern severities, most serious first. */
export const CONCERN_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
/** One of CONCERN_SEVERITIES. */
export type ConcernSeverity = (typeof CONCERN_SEVERITIES)[number];

/** The verdict JSON schema: every object closed, every key required, no oneOf / format / nullable. */
export const VERDICT_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['verdict', 'score', 'summary', 'strengths', 'concerns', 'answers', 'filesReviewed'],
  properties: {
    verdict: {
      type: 'string',
      enum: [...VERDICTS],
      description: 'APPROVED: go ahead as is; CONDITIONAL: go ahead with the recommendations applied; CHANGES_REQUESTED: rework first; REJECTED: wrong approach',
    },
    score: { type: 'number', minimum: 0, maximum: 10, description: 'overall quality, 0 to 10' },
    summary: { type: 'string', description: 'overall assessment in a few sentences' },
    strengths: { type: 'array', items: { type: 'string' }, description: 'what is right and should stay' },
    concerns: {
      type: 'array',
      description: 'problems, most serious first',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['severity', 'title', 'detail', 'recommendation'],
        properties: {
          severity: { type: 'string', enum: [...CONCERN_SEVERITIES], description: 'critical: would cause an incident, data loss or a security hole' },
          title: { type: 'string', description: 'one line' },
          detail: { type: 'string', description: 'what is wrong and why it matters' },
          recommendation: { type: 'string', description: 'what to do instead, concrete enough to implement' },
        },
      },
    },
    answers: {
      type: 'array',
      description: "one answer per open question of the plan, in the plan's order",
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['question', 'answer'],
        properties: {
          question: { type: 'string', description: 'the question as the plan asked it' },
          answer: { type: 'string' },
        },
      },
    },
    filesReviewed: { type: 'array', items: { type: 'string' }, description: 'paths of the files actually read, relative to the working directory' },
  },
} as const;

/** The zod mirror of VERDICT_JSON_SCHEMA (same keys, same closedness, same bounds). */
export const verdictJsonSchema = z
  .object({
    verdict: z.enum(VERDICTS),
    score: z.number().min(0).max(10),
    summary: z.string(),
    strengths: z.array(z.string()),
    concerns: z.array(
      z
        .object({
          severity: z.enum(CONCERN_SEVERITIES),
          title: z.string(),
          detail: z.string(),
          recommendation: z.string(),
        })
        .strict(),
    ),
    answers: z.array(z.object({ question: z.string(), answer: z.string() }).strict()),
    filesReviewed: z.array(z.string()),
  })
  .strict();

/** A validated verdict answer. */
export type VerdictJson = z.infer<typeof verdictJsonSchema>;

/** What the cross-check concluded: the verdict collab acts on, and why it differs or looks odd. */
export interface VerdictCheck {
  effective: Verdict;
  flags: string[];
}

/** Options shared by crossCheckVerdict and renderVerdictBody. */
export interface VerdictCheckOptions {
  /** The plan's open questions, so unanswered ones can be flagged. */
  openQuestions?: readonly string[];
}

// Spellings models produce for the enum even when told the exact values.
const VERDICT_ALIASES: Record<string, Verdict> = {
  APPROVE: 'APPROVED',
  CONDITIONAL_APPROVAL: 'CONDITIONAL',
  CONDITIONALLY_APPROVED: 'CONDITIONAL',
  APPROVED_WITH_CONDITIONS: 'CONDITIONAL',
  CHANGES_REQUIRED: 'CHANGES_REQUESTED',
  REQUEST_CHANGES: 'CHANGES_REQUESTED',
  REQUESTED_CHANGES: 'CHANGES_REQUESTED',
  REJECT: 'REJECTED',
};

/** Validates a verdict given as an object, a JSON string, or JSON inside a ```json fence; ARTIFACT_INVALID otherwise. */
export function parseVerdict(value: unknown): VerdictJson {
  let data = typeof value === 'string' ? jsonFromText(value) : value;
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && typeof (data as { verdict?: unknown }).verdict === 'string') {
    // Case and spacing of the enum are normalised: codex does not enforce the schema, and a
    // "Conditional approval" carries the same ruling.
    const raw = (data as { verdict: string }).verdict.trim().toUpperCase().replace(/[\s-]+/g, '_');
    data = { ...(data as object), verdict: VERDICT_ALIASES[raw] ?? raw };
  }
  const res = verdictJsonSchema.safeParse(data);
  if (res.success) return res.data;
  const problems = res.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new CollabError('ARTIFACT_INVALID', `the verdict does not match the schema: ${problems.join('; ')}`, { details: { problems } });
}

/** The verdict collab acts on: approvals with a critical concern become CHANGES_REQUESTED; odd scores are flagged. */
export function crossCheckVerdict(v: VerdictJson, opts: VerdictCheckOptions = {}): VerdictCheck {
  const flags: string[] = [];
  let effective: Verdict = v.verdict;
  const critical = v.concerns.filter((c) => c.severity === 'critical');
  if ((v.verdict === 'APPROVED' || v.verdict === 'CONDITIONAL') && critical.length > 0) {
    effective = 'CHANGES_REQUESTED';
    const titles = critical.map((c) => JSON.stringify(oneLine(c.title))).join(', ');
    flags.push(`verdict ${v.verdict} comes with ${critical.length} critical concern(s) (${titles}); collab treats it as CHANGES_REQUESTED`);
  }
  if (v.verdict === 'APPROVED' && v.score < 5) flags.push(`verdict APPROVED with a score of ${formatScore(v.score)}/10 (below 5): the score and the verdict disagree`);
  if ((v.verdict === 'CHANGES_REQUESTED' || v.verdict === 'REJECTED') && v.score >= 9) {
    flags.push(`verdict ${v.verdict} with a score of ${formatScore(v.score)}/10: the score and the verdict disagree`);
  }
  const asked = opts.openQuestions?.length ?? 0;
  if (asked > v.answers.length) flags.push(`the plan asked ${asked} open question(s), the answer covers ${v.answers.length}`);
  return { effective, flags };
}

const VERDICT_LABEL: Record<Verdict, string> = {
  APPROVED: '✅ APPROVED',
  CONDITIONAL: '⚠️ CONDITIONAL APPROVAL',
  CHANGES_REQUESTED: '🔄 CHANGES REQUESTED',
  REJECTED: '❌ REJECTED',
};

/** The review / validation artifact body in the seed's markdown form, cross-check flags included. */
export function renderVerdictBody(phase: 'review' | 'validate', v: VerdictJson, opts: VerdictCheckOptions = {}): string {
  const check = crossCheckVerdict(v, opts);
  const score = `**Overall Score: ${formatScore(v.score)}/10**`;
  const summary = block(v.summary) || 'No summary given.';
  const out: string[] =
    phase === 'review' ? ['## Overall Assessment', '', summary, '', score] : ['## Validation Summary', '', score, '', summary];

  out.push('', '## Strengths', '');
  if (v.strengths.length) for (const s of v.strengths) out.push(`✅ ${oneLine(s)}`);
  else out.push('None listed.');

  const hasCritical = v.concerns.some((c) => c.severity === 'critical');
  out.push('', hasCritical ? '## Critical Concerns' : '## Concerns', '');
  if (v.concerns.length === 0) out.push('None raised.');
  v.concerns.forEach((c, i) => {
    if (i > 0) out.push('');
    out.push(`### ${i + 1}. ${oneLine(c.title) || 'Untitled concern'}`, '', `**Severity:** ${c.severity}`);
    if (block(c.detail)) out.push('', block(c.detail));
    if (block(c.recommendation)) out.push('', `**Recommendation:** ${block(c.recommendation)}`);
  });

  // A review always answers the plan's questions, so an empty list is worth saying; a validation
  // usually has none to answer.
  if (phase === 'review' || v.answers.length) {
    out.push('', '## Answers to Open Questions', '');
    if (v.answers.length === 0) out.push('No open questions were answered.');
    v.answers.forEach((a, i) => {
      if (i > 0) out.push('');
      out.push(`**Q${i + 1}: ${oneLine(a.question)}**`, `A: ${block(a.answer)}`);
    });
  }

  if (phase === 'validate') {
    out.push('', '## Files Reviewed', '');
    if (v.filesReviewed.length) for (const f of v.filesReviewed) out.push(`- \`${oneLine(f).replace(/`/g, '')}\``);
    else out.push('None listed: the validator named no files it read.');
  }

  out.push('', '## Verdict', '', `**${VERDICT_LABEL[check.effective]}**`);
  if (check.effective !== v.verdict) out.push('', `The ${phase === 'review' ? 'reviewer' : 'validator'} answered ${v.verdict}; collab treats it as ${check.effective}.`);
  if (check.flags.length) {
    out.push('');
    for (const f of check.flags) out.push(`> ⚠️ collab check: ${f}`);
  }
  return out.join('\n');
}

/** One line of user text for headings and list items (agents sometimes put newlines in titles). */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A multi-line paragraph, normalised and trimmed. */
function block(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

function jsonFromText(text: string): unknown {
  const t = text.replace(/^\uFEFF/, '').trim();
  const attempts: string[] = [t];
  const fence = /```[ \t]*(?:json|JSON|jsonc)?[ \t]*\n([\s\S]*?)\n[ \t]*```/.exec(t);
  if (fence) attempts.push(fence[1]!);
  // Models sometimes wrap the object in a sentence; the outermost braces are the answer.
  const a = t.indexOf('{');
  const b = t.lastIndexOf('}');
  if (a >= 0 && b > a) attempts.push(t.slice(a, b + 1));
  let firstError = '';
  for (const candidate of attempts) {
    try {
      return JSON.parse(candidate);
    } catch (err) {
      if (!firstError) firstError = err instanceof Error ? err.message : String(err);
    }
  }
  const shown = t.length > 60 ? `${t.slice(0, 60)}…` : t;
  throw new CollabError('ARTIFACT_INVALID', `the verdict is not JSON (${firstError.split('\n')[0]}): ${JSON.stringify(shown)}`);
}
