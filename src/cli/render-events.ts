import type { EngineEvent } from '../core/ports.js';
import type { Output } from './output.js';

/** Renders engine events as terminal lines (progress under a spinner on a TTY, plain lines otherwise). */
export function createEventRenderer(out: Output): (e: EngineEvent) => void {
  const c = out.c;
  return (e) => {
    switch (e.type) {
      case 'phase.started':
        out.info(`${c.bold('▶')} ${c.bold(e.phase.padEnd(9))} ${e.sessionId}  iteration ${e.iteration}  agent ${e.agent}`);
        out.setLive(`${e.phase}: starting`);
        break;
      case 'phase.step':
        if (e.step === 'recovered') out.info(`  ${c.yellow('↺')} ${e.detail ?? ''}`);
        else out.verbose(`  · ${e.step}${e.detail ? `: ${e.detail}` : ''}`);
        out.setLive(`${e.phase}: ${e.step}${e.detail ? ` — ${e.detail}` : ''}`);
        break;
      case 'agent.progress': {
        const p = e.progress;
        const line = `  ${p.kind === 'warning' ? c.yellow('!') : c.dim('│')} ${p.text}`;
        if (p.kind === 'info' || p.kind === 'warning' || out.opts.verbose || !out.isTTY) out.info(line);
        out.setLive(`${e.phase}: ${p.text}`);
        break;
      }
      case 'memory.stored':
        out.verbose(`  · stored in memory${e.memoryId ? ` as ${e.memoryId}` : ''}${e.duplicate ? ' (already there)' : ''} sha256 ${e.sha256.slice(0, 12)}`);
        break;
      case 'memory.verified':
        out.verbose(`  · read back from memory after ${e.attempts} attempt(s)`);
        break;
      case 'phase.finished': {
        out.stopLive();
        const bits = [c.green(e.status)];
        if (e.verdict) bits.push(`verdict ${e.verdict}`);
        if (e.score !== undefined) bits.push(`score ${e.score}/10`);
        bits.push(c.dim(`${(e.durationMs / 1000).toFixed(2)}s`));
        if (e.usage?.inputTokens !== undefined) bits.push(c.dim(`${e.usage.inputTokens}+${e.usage.outputTokens ?? 0} tokens`));
        if (e.usage?.costUsd !== undefined) bits.push(c.dim(`$${e.usage.costUsd.toFixed(4)}`));
        out.info(`${c.green('✔')} ${c.bold(e.phase.padEnd(9))} ${bits.join('  ')}`);
        break;
      }
      case 'phase.failed':
        out.stopLive();
        out.info(`${c.red('✖')} ${c.bold(e.phase.padEnd(9))} ${c.red(e.code)} ${c.dim(`${(e.durationMs / 1000).toFixed(2)}s`)}`);
        break;
      case 'redacted':
        out.info(`  ${c.yellow('⚿')} redacted ${e.total} secret(s) before ${e.target === 'prompt' ? 'the prompt went to the other vendor\'s agent' : 'storing in remote memory'}: ${Object.entries(e.counts).map(([k, n]) => `${k}×${n}`).join(', ')}`);
        break;
      case 'warning':
        out.warn(e.message);
        break;
    }
  };
}
