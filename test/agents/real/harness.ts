/**
 * Shared pieces of the real-binary adapter tests: scratch directories, the memory servers the
 * agents spawn (the stub or collab's own), and the "nothing survives" check.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentProgress, AgentRequest, MemoryServerSpec } from '../../../src/core/ports.js';
import { makeRequest } from '../request-fixture.js';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The pinned binaries (devDependencies). */
export const CODEX_BIN = path.join(ROOT, 'node_modules', '.bin', 'codex');
export const CLAUDE_BIN = path.join(ROOT, 'node_modules', '.bin', 'claude');
const STUB_MCP = path.join(ROOT, 'test', 'fixtures', 'stub-mcp-server.mjs');
/** Variable that marks every process a test starts, so survivors can be found by environment. */
export const MARK_VAR = 'COLLAB_AGENT_TEST_MARK';

/** One test's throw-away world. */
export interface Scratch {
  dir: string;
  /** The project the agent works in. */
  cwd: string;
  logDir: string;
  /** Unique value of MARK_VAR for this test. */
  mark: string;
  cleanup(): void;
}

/** A fresh scratch directory with an empty project and a log dir. */
export function scratch(): Scratch {
  const dir = mkdtempSync(path.join(tmpdir(), 'collab-agent-test-'));
  const cwd = path.join(dir, 'project');
  const logDir = path.join(dir, 'logs');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  return { dir, cwd, logDir, mark: randomUUID(), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The stub MCP memory server (test/fixtures/stub-mcp-server.mjs) and the calls it received. */
export function stubMemory(s: Scratch, mode: 'ok' | 'fail' | 'hang' | 'readonly' = 'ok', name = 'byterover-mcp'): { spec: MemoryServerSpec; calls(): { tool: string; args: Record<string, unknown> }[] } {
  const log = path.join(s.dir, 'stub-mcp-calls.jsonl');
  return {
    // The mark goes in the server's own env: codex hands MCP servers only a few inherited variables.
    spec: { name, command: process.execPath, args: [STUB_MCP], env: { STUB_MCP_MODE: mode, STUB_MCP_LOG: log, [MARK_VAR]: s.mark } },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> }) : []),
  };
}

/** collab's own memory server, as the CLI hands it to agents (`node bin/collab.js memory serve --db`). */
export function realMemory(s: Scratch, name = 'byterover-mcp'): { spec: MemoryServerSpec; dbPath: string } {
  const dbPath = path.join(s.dir, 'memory.db');
  return { spec: { name, command: process.execPath, args: [path.join(ROOT, 'bin', 'collab.js'), 'memory', 'serve', '--db', dbPath], env: { [MARK_VAR]: s.mark } }, dbPath };
}

/** A request in the scratch world. */
export function request(s: Scratch, memoryServer: MemoryServerSpec, over: Partial<AgentRequest> = {}): AgentRequest {
  return makeRequest({ cwd: s.cwd, logDir: s.logDir, memoryServer, timeoutMs: 90_000, idleTimeoutMs: 60_000, ...over });
}

/** Live PIDs of processes carrying this test's mark (zombies have an empty environ and do not count). */
export function survivors(mark: string): number[] {
  const needle = `${MARK_VAR}=${mark}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** True when no process is left in the group led by `pid`. */
export function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Collects progress lines. */
export function progressSink(): { lines: AgentProgress[]; on: (p: AgentProgress) => void; text(): string } {
  const lines: AgentProgress[] = [];
  return { lines, on: (p) => lines.push(p), text: () => lines.map((l) => `${l.kind}: ${l.text}`).join('\n') };
}

// ------------------------------------------------------------------ the whole CLI on the real binaries

/** Where the CLI-level tests put the pinned binaries first, so `codex` and `claude` resolve to them. */
export const BIN_DIR = path.join(ROOT, 'node_modules', '.bin');

/** A copy of the rate-limiting workload app plus throw-away homes pointed at a model server. */
export interface CliWorld {
  dir: string;
  /** The project copy collab runs in (its `.collab/` ends up here). */
  app: string;
  /** The memory database (XDG_DATA_HOME/collab/memory.db). */
  xdgDataHome: string;
  /** Full environment of the collab process. */
  env: Record<string, string>;
  mark: string;
  cleanup(): void;
}

/** Result of one `node bin/collab.js ...`. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * A fresh world for `collab` on the real agents: the workload app copied the way `collab demo`
 * copies it (without node_modules), CODEX_HOME / HOME / CLAUDE_CONFIG_DIR / XDG_DATA_HOME under a
 * temp dir, codex and claude pointed at `modelServerUrl`, and node_modules/.bin first on PATH.
 */
export async function cliWorld(modelServerUrl: string, opts: { codexUrl?: string; claudeUrl?: string } = {}): Promise<CliWorld> {
  const { cpSync } = await import('node:fs');
  const { makeClaudeEnv, makeCodexHome } = await import('../../fixtures/model-server/agent-homes.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'collab-cli-agents-'));
  const appSrc = path.join(ROOT, 'templates', 'workloads', 'rate-limiting', 'app');
  const app = path.join(dir, 'app');
  cpSync(appSrc, app, { recursive: true, filter: (src) => !path.relative(appSrc, src).split(path.sep).includes('node_modules') });
  const xdgDataHome = path.join(dir, 'xdg-data');
  mkdirSync(xdgDataHome, { recursive: true });
  const codex = makeCodexHome(dir, opts.codexUrl ?? modelServerUrl);
  const claude = makeClaudeEnv(dir, opts.claudeUrl ?? modelServerUrl);
  const mark = randomUUID();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // Nothing of the surrounding machine's agent setup or collab setup may leak in.
  for (const k of ['COLLAB_MEMORY_DB', 'COLLAB_TEST_KILL_AT', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'OPENAI_API_KEY', 'CODEX_API_KEY', 'FORCE_COLOR']) delete env[k];
  for (const [k, v] of Object.entries({ ...codex, ...claude })) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // One HOME for both programs (claude's config dir is separate anyway).
  env.HOME = claude.HOME as string;
  env.XDG_DATA_HOME = xdgDataHome;
  env.PATH = `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ''}`;
  env.NO_COLOR = '1';
  env[MARK_VAR] = mark;
  return { dir, app, xdgDataHome, env, mark, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `node bin/collab.js <args>` in the world's app copy, asynchronously (the model server lives in this process). */
export async function collab(w: CliWorld, args: string[], opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  const { spawn } = await import('node:child_process');
  const t0 = performance.now();
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'collab.js'), ...args], { cwd: w.app, env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`collab ${args.join(' ')} did not end within ${opts.timeoutMs ?? 150_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/**
 * A pass-through proxy in front of the model server that lets a test script turns from what the
 * request says (e.g. the session id in the prompt, unknown before collab creates the session):
 * `onRequest` runs with the parsed body before the request is forwarded, and may `push` turns.
 */
export async function scriptingProxy(targetUrl: string, onRequest: (side: 'codex' | 'claude' | 'other', body: any) => void): Promise<{ url: string; close(): Promise<void> }> {
  const http = await import('node:http');
  const target = new URL(targetUrl);
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: any;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      const p = (req.url ?? '/').split('?')[0] ?? '/';
      const side = req.method === 'POST' && p.endsWith('/responses') ? 'codex' : req.method === 'POST' && p.endsWith('/v1/messages') ? 'claude' : 'other';
      try {
        onRequest(side, body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `scripting proxy: ${String(err)}` } }));
        return;
      }
      const headers = { ...req.headers, host: target.host, 'content-length': String(raw.length) };
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(raw);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The phase and session a collab prompt is for, from its first line (`# collab · <phase> · <id>`). */
export function promptPhase(body: unknown): { phase: 'plan' | 'review' | 'implement' | 'validate' | 'pattern'; sessionId: string } | undefined {
  const m = /# collab · (plan|review|implement|validate|extract pattern) · (SESSION-\d{8}-[A-Z0-9]{8})/.exec(JSON.stringify(body ?? null));
  if (!m) return undefined;
  return { phase: m[1] === 'extract pattern' ? 'pattern' : (m[1] as 'plan'), sessionId: m[2]! };
}
