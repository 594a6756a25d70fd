import { findExecutable } from '../../process/which.js';
import { createProcessRunner } from '../../process/runner.js';
import { createContext, type CliContext } from '../context.js';
import type { Handler } from '../program.js';

/** One doctor check. */
interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Where an agent binary is: on PATH, exactly where the adapters will look for it. */
function locate(ctx: CliContext, name: string): string | undefined {
  return findExecutable(name, ctx.env.PATH);
}

async function agentCheck(ctx: CliContext, name: 'codex' | 'claude'): Promise<Check> {
  const pkg = name === 'codex' ? '@openai/codex' : '@anthropic-ai/claude-code';
  const bin = locate(ctx, name);
  if (!bin) return { name, ok: false, detail: 'not found on PATH', fix: `npm install -g ${pkg}` };
  const res = await createProcessRunner().run({ command: bin, args: ['--version'], cwd: ctx.cwd, timeoutMs: 20_000 });
  if (res.spawnError) return { name, ok: false, detail: `${bin} cannot be started: ${res.spawnError}`, fix: `reinstall: npm install -g ${pkg}` };
  if (res.exitCode !== 0) return { name, ok: false, detail: `${bin} --version exited ${res.exitCode ?? res.signal}: ${(res.stderr || res.stdout).trim().split('\n')[0] ?? ''}`, fix: `reinstall: npm install -g ${pkg}` };
  return { name, ok: true, detail: `${res.stdout.trim().split('\n')[0]} (${bin})` };
}

async function memoryCheck(ctx: CliContext): Promise<Check> {
  const spec = ctx.memoryServerSpec();
  const t0 = Date.now();
  try {
    const { connectMemory } = await import('../../memory/mcp-client.js');
    const m = await connectMemory({ kind: 'stdio', command: spec.command, args: spec.args, env: spec.env });
    try {
      const tools = m.tools ? await m.tools() : [];
      const want = ['byterover-store-knowledge', 'byterover-retrieve-knowledge'];
      const missing = want.filter((t) => !tools.includes(t));
      if (missing.length) return { name: 'memory', ok: false, detail: `server started but lacks ${missing.join(', ')} (offers ${tools.join(', ') || 'nothing'})` };
      return { name: 'memory', ok: true, detail: `\`collab memory serve\` started in ${Date.now() - t0} ms and lists ${tools.join(', ')} (db ${ctx.dbPath})` };
    } finally {
      await m.close();
    }
  } catch (err) {
    return { name: 'memory', ok: false, detail: (err as Error).message, fix: 'check that the database directory is writable, or pass --db / set memory.db in .collab/config.json' };
  }
}

/** `collab doctor`. */
export const doctorCommand: Handler = async (_cmd, g, out) => {
  const ctx = createContext(g, out);
  const checks: Check[] = await Promise.all([agentCheck(ctx, 'codex'), agentCheck(ctx, 'claude'), memoryCheck(ctx)]);
  const roles = Object.entries(ctx.config.roles).map(([role, r]) => `${role}=${r.agent}`).join(' ');
  const needed = new Set(Object.values(ctx.config.roles).map((r) => r.agent));
  const blocking = checks.filter((c) => !c.ok && (c.name === 'memory' || needed.has(c.name as never)));
  if (g.json) {
    out.json({ ok: blocking.length === 0, roles: ctx.config.roles, checks });
    return blocking.length ? 1 : 0;
  }
  for (const c of checks) {
    out.line(`${c.ok ? out.c.green('✔') : out.c.red('✖')} ${c.name.padEnd(7)} ${c.detail}`);
    if (!c.ok && c.fix) out.line(`          fix: ${c.fix}`);
  }
  out.line(`roles   ${roles}`);
  if (blocking.length) out.line(out.c.red(`${blocking.length} problem(s) block the configured roles`));
  else if (checks.some((c) => !c.ok)) out.line(`ready for the configured roles (${roles}); what is missing above is needed only by other roles`);
  else out.line('ready');
  return blocking.length ? 1 : 0;
};
