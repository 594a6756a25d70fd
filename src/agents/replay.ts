import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CollabError } from '../core/errors.js';
import { PHASES, ROLE_VENDOR, type Role } from '../core/phases.js';
import type { AgentAdapter, AgentProgress, AgentRequest, AgentResult } from '../core/ports.js';

const stepSchema = z
  .object({
    message: z.string().optional(),
    structured: z.string().optional(),
    files: z.string().optional(),
  })
  .strict()
  .refine((s) => s.message !== undefined || s.structured !== undefined, 'a step needs "message" or "structured"');

/** cassette.json: the recorded answers of a whole session. */
export const cassetteSchema = z
  .object({
    name: z.string(),
    task: z.string(),
    title: z.string(),
    agents: z.record(z.string(), z.enum(['claude', 'codex'])),
    phases: z.object(Object.fromEntries(PHASES.map((p) => [p, z.array(stepSchema).min(1)])) as Record<(typeof PHASES)[number], z.ZodArray<typeof stepSchema>>),
  })
  .strict();
export type Cassette = z.infer<typeof cassetteSchema>;

const VENDOR = { claude: { header: 'CLAUDE', name: 'Claude Code' }, codex: { header: 'CODEX', name: 'Codex CLI' } } as const;

/** Loads and validates a cassette directory. */
export function loadCassette(dir: string): Cassette {
  const file = path.join(dir, 'cassette.json');
  if (!existsSync(file)) throw new CollabError('NOT_FOUND', `no cassette at ${dir} (cassette.json missing)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CollabError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  const res = cassetteSchema.safeParse(raw);
  if (!res.success) throw new CollabError('CONFIG_INVALID', `${file} is invalid: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return res.data;
}

/** Lists files under `dir`, relative, sorted. */
function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(path.relative(base, p));
  }
  return out;
}

/** The replay agent: plays a recorded cassette; everything it reports says it is a replay. */
export function createReplayAdapter(opts: { cassetteDir: string; role: Role }): AgentAdapter {
  const cassette = loadCassette(opts.cassetteDir);
  const vendor = VENDOR[cassette.agents[opts.role] ?? ROLE_VENDOR[opts.role]];
  return {
    kind: 'replay',
    displayName: `${vendor.name} (replay)`,
    headerAgentFor: () => vendor.header,
    describe: () => ({ command: [`(replay of cassette "${cassette.name}" from ${opts.cassetteDir}; no process is started)`], env: {} }),
    async run(req: AgentRequest, onProgress: (p: AgentProgress) => void): Promise<AgentResult> {
      const t0 = Date.now();
      const steps = cassette.phases[req.phase];
      const step = steps[Math.min(req.iteration, steps.length) - 1] ?? steps[steps.length - 1]!;
      onProgress({ kind: 'info', text: `replay: playing the recorded ${vendor.name} answer for ${req.phase} (cassette "${cassette.name}", step ${Math.min(req.iteration, steps.length)}/${steps.length}, recorded for the task "${cassette.task}") — no model is called` });
      const read = (rel: string) => readFileSync(path.resolve(opts.cassetteDir, rel), 'utf8').replaceAll('{{sessionId}}', req.sessionId);
      let filesChanged: string[] | undefined;
      if (step.files) {
        const src = path.resolve(opts.cassetteDir, step.files);
        filesChanged = listFiles(src);
        cpSync(src, req.cwd, { recursive: true, force: true });
        for (const f of filesChanged) onProgress({ kind: 'tool', text: `replay: wrote ${f}` });
      }
      const result: AgentResult = { ok: true, finalMessage: step.message ? read(step.message) : '', replay: true, durationMs: Date.now() - t0 };
      if (step.structured) {
        const text = read(step.structured);
        try {
          result.structured = JSON.parse(text);
        } catch (err) {
          return { ok: false, finalMessage: text, replay: true, failure: { reason: 'unparseable', detail: `cassette file ${step.structured} is not JSON: ${(err as Error).message}` } };
        }
        result.finalMessage = text;
      }
      if (filesChanged) result.filesChanged = filesChanged;
      return result;
    },
  };
}
