import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArtifact } from '../core/artifact.js';
import { ROLE_VENDOR, type Role } from '../core/phases.js';
import type { AgentAdapter, AgentProgress, AgentRequest, AgentResult, Clock, MemoryPort } from '../core/ports.js';
import { sha256 } from '../engine/hash.js';
import { claudeMcpConfig } from './claude.js';
import { codexMemoryOverrides, codexSandboxFor } from './codex.js';
import { shellLine, shellQuote } from './shell-quote.js';

/** The exact command a user would run for this request, with collab's memory server wired in. */
export function manualCommand(req: AgentRequest, promptFile: string): string {
  const s = req.memoryServer;
  if (ROLE_VENDOR[req.role] === 'codex') {
    const argv = ['codex', 'exec', ...codexMemoryOverrides(s), '-s', codexSandboxFor(req.phase), '-C', req.cwd, '-'];
    return `${shellLine(argv)} < ${shellQuote(promptFile)}`;
  }
  const mcp = path.join(path.dirname(promptFile), 'manual-mcp.json');
  return `${shellLine(['claude', '-p', '--mcp-config', mcp])} < ${shellQuote(promptFile)}`;
}

/** The manual agent (the seed's workflow): prints the command to run, then waits for the artifact to appear in memory. */
export function createManualAdapter(opts: { role: Role; memory: MemoryPort; clock: Clock; sleep: (ms: number) => Promise<void>; waitSec: number }): AgentAdapter {
  const vendor = ROLE_VENDOR[opts.role];
  return {
    kind: 'manual',
    displayName: vendor === 'codex' ? 'Codex CLI (manual)' : 'Claude Code (manual)',
    headerAgentFor: () => vendor.toUpperCase(),
    describe: (req) => ({ command: ['(manual: prints the command below and waits for the artifact)', manualCommand(req, path.join(req.logDir, `${req.phase}-prompt.md`))], env: {} }),
    async run(req: AgentRequest, onProgress: (p: AgentProgress) => void): Promise<AgentResult> {
      mkdirSync(req.logDir, { recursive: true });
      const promptFile = path.join(req.logDir, `${req.phase}-iter${req.iteration}-prompt.md`);
      writeFileSync(promptFile, req.prompt);
      if (vendor === 'claude') {
        const mcp = path.join(req.logDir, 'manual-mcp.json');
        writeFileSync(mcp, JSON.stringify(claudeMcpConfig(req.memoryServer), null, 2));
      }
      const before = new Set((await opts.memory.lookup(req.sessionId, req.phase)).map((r) => sha256(r.text)));
      onProgress({ kind: 'info', text: `manual: run this yourself (the prompt is in ${promptFile}):` });
      onProgress({ kind: 'info', text: `  ${manualCommand(req, promptFile)}` });
      onProgress({ kind: 'info', text: `manual: waiting up to ${opts.waitSec}s for the ${req.phase} artifact of ${req.sessionId} to appear in memory — or hand it in from another terminal: collab submit ${req.phase} ${req.sessionId} --file <answer>` });
      const start = opts.clock.now().getTime();
      let delay = 250;
      for (;;) {
        if (req.signal?.aborted) return { ok: false, finalMessage: '', failure: { reason: 'interrupted', detail: 'interrupted while waiting' } };
        for (const r of await opts.memory.lookup(req.sessionId, req.phase)) {
          if (before.has(sha256(r.text))) continue;
          try {
            parseArtifact(r.text, { expectSessionId: req.sessionId, expectPhase: req.phase });
          } catch {
            continue;
          }
          onProgress({ kind: 'info', text: `manual: found the ${req.phase} artifact in memory` });
          return { ok: true, finalMessage: r.text, storedByAgent: true, durationMs: opts.clock.now().getTime() - start };
        }
        if (opts.clock.now().getTime() - start >= opts.waitSec * 1000) {
          return { ok: false, finalMessage: '', failure: { reason: 'timeout', detail: `no ${req.phase} artifact appeared in memory within ${opts.waitSec}s; run the command above, or use \`collab submit ${req.phase} --file <answer>\`` } };
        }
        await opts.sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    },
  };
}
