/**
 * The strict prompt-template renderer. A typo in a user's override must fail loudly, not send an
 * agent a prompt with a hole in it, so every placeholder must resolve and every `{{` must close.
 */
import { CollabError } from './errors.js';
import { PHASES, type Phase } from './phases.js';
import type { HandoffMode } from './ports.js';

/** Every variable the engine supplies to every phase's template. */
export const TEMPLATE_VARIABLES = [
  'sessionId',
  'task',
  'title',
  'phase',
  'iteration',
  'maxIterations',
  'workDir',
  'memoryServer',
  'storeTool',
  'retrieveTool',
  'artifactHeader',
  'status',
  'retrieveQuery',
  'previousArtifacts',
  'patterns',
  'workloadChecklist',
  'openQuestions',
] as const;
/** One of TEMPLATE_VARIABLES. */
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
/** The full variable set, as the engine builds it. */
export type TemplateVars = Record<TemplateVariable, string>;

/** The two handoff modes a template exists for. */
export const HANDOFF_MODES = ['direct', 'memory'] as const satisfies readonly HandoffMode[];

/** The file name of a phase's template: `<phase>.<handoff>.md`. */
export function templateFileName(phase: Phase, handoff: HandoffMode): string {
  // Values may come from config or flags at runtime, where the types do not protect us.
  if (!PHASES.includes(phase)) throw new CollabError('TEMPLATE_ERROR', `no template for unknown phase ${JSON.stringify(phase)}`);
  if (!HANDOFF_MODES.includes(handoff)) throw new CollabError('TEMPLATE_ERROR', `no template for unknown handoff mode ${JSON.stringify(handoff)}`);
  return `${phase}.${handoff}.md`;
}

/** All ten template file names shipped in templates/prompts/. */
export const TEMPLATE_FILE_NAMES: readonly string[] = PHASES.flatMap((p) => HANDOFF_MODES.map((h) => templateFileName(p, h)));

/** Renders `{{ name }}` placeholders from `vars`; `\{{` is a literal `{{`. TEMPLATE_ERROR on anything unresolved. */
export function renderTemplate(template: string, vars: Record<string, string>, name: string): string {
  return scan(template, name, (variable, line) => {
    const value = Object.hasOwn(vars, variable) ? vars[variable] : undefined;
    if (typeof value === 'string') return value;
    const known = (TEMPLATE_VARIABLES as readonly string[]).includes(variable);
    throw new CollabError(
      'TEMPLATE_ERROR',
      known
        ? `template ${name}: variable "${variable}" (line ${line}) has no value`
        : `template ${name}: unknown variable "${variable}" (line ${line}); known variables: ${TEMPLATE_VARIABLES.join(', ')}`,
      { details: { template: name, variable, line } },
    );
  });
}

/** The variable names a template references, in first-use order; TEMPLATE_ERROR on bad syntax. */
export function templateVariablesOf(template: string, name: string): string[] {
  const out: string[] = [];
  scan(template, name, (variable) => {
    if (!out.includes(variable)) out.push(variable);
    return '';
  });
  return out;
}

/** Checks a template (e.g. a user override) against TEMPLATE_VARIABLES without rendering it. */
export function checkTemplate(template: string, name: string): void {
  const vars = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v, '']));
  renderTemplate(template, vars, name);
}

const PLACEHOLDER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;

// One left-to-right pass; values are inserted, never rescanned, so a value holding `{{x}}` (an
// untrusted earlier artifact, say) cannot pull in other variables.
function scan(template: string, name: string, resolve: (variable: string, line: number) => string): string {
  let out = '';
  let i = 0;
  const lineAt = (pos: number) => template.slice(0, pos).split('\n').length;
  for (;;) {
    const open = template.indexOf('{{', i);
    if (open < 0) return out + template.slice(i);
    if (open > 0 && template[open - 1] === '\\') {
      out += `${template.slice(i, open - 1)}{{`;
      i = open + 2;
      continue;
    }
    const close = template.indexOf('}}', open + 2);
    const nextOpen = template.indexOf('{{', open + 2);
    if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
      throw new CollabError('TEMPLATE_ERROR', `template ${name}: "{{" at line ${lineAt(open)} is never closed with "}}" (write \\{{ for a literal)`, {
        details: { template: name, line: lineAt(open) },
      });
    }
    const inner = template.slice(open + 2, close);
    const m = PLACEHOLDER.exec(inner);
    if (!m) {
      const shown = inner.length > 40 ? `${inner.slice(0, 40)}…` : inner;
      throw new CollabError('TEMPLATE_ERROR', `template ${name}: invalid placeholder {{${shown}}} at line ${lineAt(open)} (expected {{ name }})`, {
        details: { template: name, line: lineAt(open) },
      });
    }
    out += template.slice(i, open) + resolve(m[1]!, lineAt(open));
    i = close + 2;
  }
}
