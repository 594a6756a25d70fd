import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { defaultConfig } from '../../core/config.js';
import { CollabError } from '../../core/errors.js';
import type { MemoryServerSpec } from '../../core/ports.js';
import { createContext } from '../context.js';
import type { Output } from '../output.js';
import type { Handler } from '../program.js';

/** How long codex waits for our server to start: `collab memory serve` is a Node process opening SQLite. */
const CODEX_STARTUP_TIMEOUT_SEC = 30;

/** One file init may touch: what it would do, and how to do it. */
interface Step {
  label: string;
  file: string;
  /** 'write' changes the file; 'keep' means it is already right or belongs to the user. */
  action: 'write' | 'keep';
  summary: string;
  /** Diff-like lines shown under the summary (`+` added). */
  detail: string[];
  apply?: () => void;
}

/** Atomic replace (temp + rename) so an interrupted init never leaves half a file. */
function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.collab-${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function configStep(cwd: string): Step {
  const file = path.join(cwd, '.collab', 'config.json');
  if (existsSync(file)) return { label: 'collab config', file, action: 'keep', summary: 'exists; left as it is', detail: [] };
  const text = `${JSON.stringify(defaultConfig(), null, 2)}\n`;
  return {
    label: 'collab config',
    file,
    action: 'write',
    summary: 'create with the defaults',
    detail: text.trimEnd().split('\n').map((l) => `+ ${l}`),
    apply: () => writeAtomic(file, text),
  };
}

/** The `.mcp.json` entry for our server, in Claude Code's project-scope format. */
function claudeEntry(spec: MemoryServerSpec): Record<string, unknown> {
  return { command: spec.command, args: spec.args, env: spec.env };
}

function claudeStep(cwd: string, spec: MemoryServerSpec): Step {
  const file = path.join(cwd, '.mcp.json');
  const entry = claudeEntry(spec);
  let doc: Record<string, unknown> = {};
  if (existsSync(file)) {
    const raw = readFileSync(file, 'utf8');
    let parsed: unknown;
    try {
      parsed = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (err) {
      throw new CollabError('CONFIG_INVALID', `${file} is not valid JSON (${(err as Error).message}); left untouched`, { hint: 'fix or remove it, then run `collab init` again' });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CollabError('CONFIG_INVALID', `${file} is not a JSON object; left untouched`);
    doc = parsed as Record<string, unknown>;
  }
  const servers = doc.mcpServers ?? {};
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new CollabError('CONFIG_INVALID', `${file}: "mcpServers" is not an object; left untouched`);
  const existing = (servers as Record<string, unknown>)[spec.name];
  if (existing !== undefined) {
    const same = JSON.stringify(existing) === JSON.stringify(entry);
    return { label: 'Claude Code', file, action: 'keep', summary: same ? `server "${spec.name}" already registered` : `a server "${spec.name}" already exists with other settings; left as it is`, detail: [] };
  }
  const next = { ...doc, mcpServers: { ...(servers as Record<string, unknown>), [spec.name]: entry } };
  const text = `${JSON.stringify(next, null, 2)}\n`;
  const others = Object.keys(servers).length;
  return {
    label: 'Claude Code',
    file,
    action: 'write',
    summary: `${existsSync(file) ? 'add' : 'create with'} server "${spec.name}"${others ? ` (keeping ${others} other server(s))` : ''}`,
    detail: JSON.stringify({ [spec.name]: entry }, null, 2).split('\n').map((l) => `+ ${l}`),
    apply: () => writeAtomic(file, text),
  };
}

/** TOML basic string: JSON's escapes (\" \\ \n \uXXXX) are valid TOML escapes. */
const tomlString = (s: string) => JSON.stringify(s);

/** True when the user's TOML already defines mcp_servers.<name> in any of the common spellings. */
function hasCodexServer(toml: string, name: string): boolean {
  const key = `(?:${name}|"${name}"|'${name}')`;
  if (new RegExp(`^\\s*\\[\\s*mcp_servers\\s*\\.\\s*${key}\\s*[.\\]]`, 'm').test(toml)) return true;
  if (new RegExp(`^\\s*mcp_servers\\s*\\.\\s*${key}\\s*[.=]`, 'm').test(toml)) return true;
  // `[mcp_servers]` followed (before the next table) by `name = {...}` or `name.command = ...`.
  const table = /^\s*\[\s*mcp_servers\s*\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(toml);
  return Boolean(table && new RegExp(`^\\s*${key}\\s*[.=]`, 'm').test(table[1] ?? ''));
}

function codexStep(env: NodeJS.ProcessEnv, spec: MemoryServerSpec): Step {
  const dir = env.CODEX_HOME || path.join(homedir(), '.codex');
  const file = path.join(dir, 'config.toml');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (hasCodexServer(current, spec.name)) return { label: 'codex', file, action: 'keep', summary: `[mcp_servers.${spec.name}] already present; left as it is`, detail: [] };
  const lines = [
    `# Added by \`collab init\`: collab's shared memory server.`,
    `[mcp_servers.${spec.name}]`,
    `command = ${tomlString(spec.command)}`,
    `args = [${spec.args.map(tomlString).join(', ')}]`,
    // codex exec cancels MCP calls that would need an approval prompt; the memory tools must just run.
    `default_tools_approval_mode = "approve"`,
    `startup_timeout_sec = ${CODEX_STARTUP_TIMEOUT_SEC}`,
  ];
  if (Object.keys(spec.env).length) lines.push(`env = { ${Object.entries(spec.env).map(([k, v]) => `${tomlString(k)} = ${tomlString(v)}`).join(', ')} }`);
  // Appended as text, never parsed and re-serialised: the user's comments and layout stay byte-for-byte.
  const sep = current === '' ? '' : current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n';
  const text = `${current}${sep}${lines.join('\n')}\n`;
  return {
    label: 'codex',
    file,
    action: 'write',
    summary: `${current ? 'append' : 'create with'} [mcp_servers.${spec.name}]`,
    detail: lines.map((l) => `+ ${l}`),
    apply: () => writeAtomic(file, text),
  };
}

function tilde(p: string): string {
  const home = homedir();
  return home && (p === home || p.startsWith(home + path.sep)) ? `~${p.slice(home.length)}` : p;
}

function printPlan(steps: Step[], out: Output): void {
  for (const s of steps) {
    const mark = s.action === 'write' ? out.c.green('+') : out.c.dim('=');
    out.line(`${mark} ${s.label}: ${tilde(s.file)} — ${s.summary}`);
    for (const d of s.detail) out.line(out.c.green(`    ${d}`));
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** `collab init [--yes] [--dry-run] [--no-codex] [--no-claude]`: config + memory-server registration, idempotent. */
export const initCommand: Handler = async (cmd, g, out) => {
  const o = cmd.opts<{ yes?: boolean; dryRun?: boolean; codex?: boolean; claude?: boolean }>();
  const ctx = createContext(g, out);
  const spec = ctx.memoryServerSpec();
  const steps: Step[] = [configStep(ctx.cwd)];
  if (o.claude !== false) steps.push(claudeStep(ctx.cwd, spec));
  if (o.codex !== false) steps.push(codexStep(ctx.env, spec));
  const writes = steps.filter((s) => s.action === 'write');
  printPlan(steps, out);
  if (!writes.length) {
    out.info('Nothing to change: collab is already set up here.');
    return 0;
  }
  if (o.dryRun) {
    out.info(`Dry run: ${writes.length} file(s) would change; nothing written.`);
    return 0;
  }
  if (!o.yes) {
    if (!(process.stdin.isTTY && process.stderr.isTTY)) throw new CollabError('USAGE', 'not a terminal, so cannot ask before changing files; nothing written', { hint: 're-run with --yes to apply the plan above' });
    if (!(await confirm('Proceed? [y/N] '))) {
      out.info('Nothing written.');
      return 0;
    }
  }
  for (const s of writes) s.apply?.();
  out.info(`Wrote ${writes.map((s) => tilde(s.file)).join(', ')}.`);
  return 0;
};
