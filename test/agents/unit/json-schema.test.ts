import { describe, expect, it } from 'vitest';
import { checkJsonSchema } from '../../../src/agents/shared-json-schema.js';
import { judgeFinalMessage, parseJsonAnswer } from '../../../src/agents/shared-outcome.js';
import { VERDICT_JSON_SCHEMA, parseVerdict } from '../../../src/core/verdict.js';

const verdict = { verdict: 'APPROVED', score: 8.5, summary: 's', strengths: [], concerns: [{ severity: 'low', title: 't', detail: 'd', recommendation: 'r' }], answers: [], filesReviewed: ['a.ts'] };

describe('checkJsonSchema', () => {
  it.each<[string, unknown, string[]]>([
    ['a valid verdict', verdict, []],
    ['a missing key', { ...verdict, summary: undefined }, ['$: missing required key "summary"']],
    ['an extra key', { ...verdict, extra: true }, ['$: unexpected key "extra"']],
    ['a wrong enum', { ...verdict, verdict: 'OK' }, ['$.verdict: "OK" is not one of "APPROVED", "CONDITIONAL", "CHANGES_REQUESTED", "REJECTED"']],
    ['a number out of range', { ...verdict, score: 12 }, ['$.score: 12 is above the maximum 10']],
    ['a wrong nested type', { ...verdict, concerns: [{ severity: 'low', title: 1, detail: 'd', recommendation: 'r' }] }, ['$.concerns[0].title: expected string, got number']],
    ['not an object', 'APPROVED', ['$: expected object, got string']],
  ])('%s', (_n, value, problems) => {
    const v = JSON.parse(JSON.stringify(value)) as unknown; // drops undefined keys like a real answer would
    expect(checkJsonSchema(v, VERDICT_JSON_SCHEMA as unknown as Record<string, unknown>)).toEqual(problems);
  });

  it('anyOf, integer, const, array bounds', () => {
    const schema = { type: 'object', properties: { a: { anyOf: [{ type: 'integer' }, { const: 'x' }] }, b: { type: 'array', minItems: 1, items: { type: 'string' } } } };
    expect(checkJsonSchema({ a: 1, b: ['s'] }, schema)).toEqual([]);
    expect(checkJsonSchema({ a: 'x', b: ['s'] }, schema)).toEqual([]);
    expect(checkJsonSchema({ a: 1.5, b: [] }, schema)).toEqual(['$.a: matches none of the allowed shapes', '$.b: fewer than 1 items']);
  });
});

describe('judgeFinalMessage', () => {
  const rules = { phase: 'review' as const, memoryServer: 'm', requireMemory: true, schema: VERDICT_JSON_SCHEMA as unknown as Record<string, unknown>, validate: (v: unknown) => void parseVerdict(v) };
  it('accepts the verdict JSON and keeps the parsed value', () => {
    expect(judgeFinalMessage(JSON.stringify(verdict), rules)).toEqual({ ok: true, structured: verdict });
  });
  it('prefers the agent structured value over the message', () => {
    expect(judgeFinalMessage('prose', rules, verdict)).toEqual({ ok: true, structured: verdict });
  });
  it('parseJsonAnswer strips one fence', () => {
    expect(parseJsonAnswer('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('{"a":')).toMatchObject({ ok: false });
  });
});
