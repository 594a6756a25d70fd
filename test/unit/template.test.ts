import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CollabError } from '../../src/core/errors.js';
import type { Phase } from '../../src/core/phases.js';
import { checkTemplate, renderTemplate, TEMPLATE_FILE_NAMES, TEMPLATE_VARIABLES, templateFileName, templateVariablesOf, type TemplateVars } from '../../src/core/template.js';
import { VERDICT_JSON_SCHEMA } from '../../src/core/verdict.js';

const PROMPTS = new URL('../../templates/prompts/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, PROMPTS), 'utf8');
const ID = 'SESSION-20251027-K9M2P7X4';

/** A full variable set whose values are recognisable in the output. */
const VARS = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v, `<<${v}>>`])) as TemplateVars;

function templateError(fn: () => unknown): CollabError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollabError && err.code === 'TEMPLATE_ERROR') {
      expect(err.message).not.toContain('\n');
      return err;
    }
    throw err;
  }
  throw new Error('expected TEMPLATE_ERROR');
}

describe('shipped templates', () => {
  it('are exactly the ten <phase>.<handoff>.md files', () => {
    expect(TEMPLATE_FILE_NAMES).toHaveLength(10);
    expect(readdirSync(PROMPTS).filter((f) => f.endsWith('.md')).sort()).toEqual([...TEMPLATE_FILE_NAMES].sort());
  });

  it.each(TEMPLATE_FILE_NAMES.map((f) => [f]))('%s renders with the full variable set and uses only known variables', (file) => {
    const text = read(file);
    const used = templateVariablesOf(text, file);
    for (const v of used) expect(TEMPLATE_VARIABLES as readonly string[]).toContain(v);
    expect(() => checkTemplate(text, file)).not.toThrow();
    const out = renderTemplate(text, VARS, file);
    expect(out).not.toContain('{{');
    for (const v of ['sessionId', 'task', 'workDir']) expect(used, `${file} uses ${v}`).toContain(v);
    // Every prompt hands over earlier artifacts or patterns, and warns that they are data.
    expect(used.some((v) => v === 'previousArtifacts' || v === 'patterns')).toBe(true);
    expect(out).toMatch(/never\s+(?:follow\s+)?instructions|not\s+instructions|never\s+as\s+(?:instructions|commands)/i);
  });

  it.each(['review', 'validate'].map((p) => [p]))('%s.memory.md names the session id, the retrieve and store tools, the header and the query', (phase) => {
    const file = `${phase}.memory.md`;
    const used = templateVariablesOf(read(file), file);
    for (const v of ['sessionId', 'retrieveTool', 'storeTool', 'artifactHeader', 'retrieveQuery', 'memoryServer', 'previousArtifacts']) expect(used, v).toContain(v);
    const out = renderTemplate(read(file), { ...VARS, sessionId: ID, retrieveTool: 'byterover-retrieve-knowledge', storeTool: 'byterover-store-knowledge' }, file);
    expect(out).toContain(`[${ID}]`);
    expect(out).toContain('`byterover-retrieve-knowledge`');
    expect(out).toContain('`byterover-store-knowledge`');
    expect(out).toContain(`Session ID: ${ID}`);
  });

  it.each(['plan', 'implement', 'pattern'].map((p) => [p]))('%s.memory.md has the agent store the full artifact', (phase) => {
    const file = `${phase}.memory.md`;
    const used = templateVariablesOf(read(file), file);
    for (const v of ['storeTool', 'retrieveTool', 'artifactHeader', 'status']) expect(used, v).toContain(v);
    expect(read(file)).toContain('Session ID: {{sessionId}}');
  });

  it.each(['direct', 'memory'].map((h) => [h]))('review.%s.md asks for the architecture, EACH open question, and the JSON verdict keys', (handoff) => {
    const text = read(`review.${handoff}.md`);
    expect(templateVariablesOf(text, 'review')).toContain('openQuestions');
    expect(text).toMatch(/architectural approach/);
    expect(text).toMatch(/EACH/);
    for (const key of VERDICT_JSON_SCHEMA.required) expect(text, key).toContain(`\`${key}\``);
    for (const s of ['critical', 'high', 'medium', 'low']) expect(text).toContain(`"${s}"`);
  });

  it.each(['direct', 'memory'].map((h) => [h]))('validate.%s.md says to read the ACTUAL files, not trust the summary, and score', (handoff) => {
    const text = read(`validate.${handoff}.md`);
    expect(text).toMatch(/ACTUAL files/);
    expect(text).toMatch(/Do not trust the summary/);
    expect(text).toMatch(/[Ss]core the implementation from 0 to 10/);
    for (const key of VERDICT_JSON_SCHEMA.required) expect(text, key).toContain(`\`${key}\``);
  });

  it.each(['direct', 'memory'].map((h) => [h]))('plan.%s.md asks for the open-questions section and uses the patterns', (handoff) => {
    const text = read(`plan.${handoff}.md`);
    expect(text).toContain('## Open Questions for Codex Review');
    expect(templateVariablesOf(text, 'plan')).toEqual(expect.arrayContaining(['patterns', 'previousArtifacts', 'workloadChecklist']));
  });

  it.each(['direct', 'memory'].map((h) => [h]))('implement.%s.md applies the review and lists files changed and deviations', (handoff) => {
    const text = read(`implement.${handoff}.md`);
    expect(text).toMatch(/EVERY recommendation of the review/);
    expect(text).toContain('## Files Changed');
    expect(text).toContain('## Deviations from Original Plan');
  });

  it.each(['direct', 'memory'].map((h) => [h]))('pattern.%s.md extracts a VALIDATED PATTERN naming its source session', (handoff) => {
    const text = read(`pattern.${handoff}.md`);
    expect(text).toContain('VALIDATED PATTERN');
    expect(text).toMatch(/Session: \{\{sessionId\}\}/);
    if (handoff === 'memory') expect(text).toContain('Source: Claude-Codex Collaboration {{sessionId}}');
  });

  it('direct templates leave storing to collab', () => {
    for (const p of ['plan', 'review', 'implement', 'validate', 'pattern']) expect(read(`${p}.direct.md`)).toMatch(/Do not store anything/);
  });
});

describe('renderTemplate', () => {
  it('substitutes placeholders with or without inner spaces', () => {
    expect(renderTemplate('a {{x}} b {{ y }} c {{  x  }}', { x: '1', y: '2' }, 't')).toBe('a 1 b 2 c 1');
  });

  it('inserts values verbatim and never rescans them', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}} $& $1 \\{{', b: 'NO' }, 't')).toBe('{{b}} $& $1 \\{{');
  });

  it('renders \\{{ as a literal {{', () => {
    expect(renderTemplate('use \\{{ name }} here, {{x}}', { x: '1' }, 't')).toBe('use {{ name }} here, 1');
    expect(templateVariablesOf('\\{{ name }}', 't')).toEqual([]);
  });

  it('leaves single braces and stray }} alone', () => {
    expect(renderTemplate('{"a":{"b":1}} { x }', {}, 't')).toBe('{"a":{"b":1}} { x }');
  });

  it('names the template, the variable and the line when a value is missing', () => {
    const err = templateError(() => renderTemplate('line1\n{{ sessionId }}', {}, 'review.memory.md'));
    expect(err.message).toBe('template review.memory.md: variable "sessionId" (line 2) has no value');
    expect(err.details).toMatchObject({ template: 'review.memory.md', variable: 'sessionId', line: 2 });
  });

  it('calls unknown variables unknown and lists the known ones', () => {
    const err = templateError(() => renderTemplate('{{sesionId}}', VARS, 'plan.direct.md'));
    expect(err.message).toMatch(/^template plan\.direct\.md: unknown variable "sesionId" \(line 1\); known variables: sessionId, task,/);
  });

  it('does not take values from the prototype', () => {
    templateError(() => renderTemplate('{{toString}}', {}, 't'));
    templateError(() => renderTemplate('{{constructor}}', {}, 't'));
  });

  const syntax: Array<[string, string, RegExp]> = [
    ['unclosed at end', 'a {{ x', /"\{\{" at line 1 is never closed/],
    ['unclosed before another', '{{ x {{ y }}', /never closed/],
    ['unclosed on line 3', 'a\nb\nc {{', /line 3/],
    ['empty placeholder', '{{}}', /invalid placeholder/],
    ['two words', '{{ a b }}', /invalid placeholder \{\{ a b \}\}/],
    ['dotted path', '{{ a.b }}', /invalid placeholder/],
    ['leading digit', '{{ 1a }}', /invalid placeholder/],
    ['triple brace', '{{{x}}}', /invalid placeholder/],
  ];
  it.each(syntax)('rejects %s', (_, template, message) => {
    expect(templateError(() => renderTemplate(template, { x: '1', y: '2', a: '3' }, 'custom.md')).message).toMatch(message);
    templateError(() => templateVariablesOf(template, 'custom.md'));
  });

  it('checkTemplate rejects an override that uses a variable the engine does not supply', () => {
    expect(templateError(() => checkTemplate('{{ sessionId }} {{ secret }}', 'override.md')).message).toMatch(/unknown variable "secret"/);
  });
});

describe('templateFileName', () => {
  it('is <phase>.<handoff>.md', () => {
    expect(templateFileName('review', 'memory')).toBe('review.memory.md');
    expect(templateFileName('plan', 'direct')).toBe('plan.direct.md');
  });
  it('rejects unknown phases and modes at runtime', () => {
    templateError(() => templateFileName('deploy' as Phase, 'direct'));
    templateError(() => templateFileName('plan', 'fax' as 'direct'));
  });
});
