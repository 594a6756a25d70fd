import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collab, tempDir } from '../helpers/cli.js';

/** A fresh project with its own HOME, CODEX_HOME and data home, so nothing of the user's is touched. */
function sandbox() {
  const cwd = tempDir('collab-init-');
  const home = tempDir('collab-home-');
  const codexHome = path.join(home, 'codex-home');
  const dataHome = tempDir('collab-xdg-');
  const run = (args: string[]) => collab(['init', ...args], { cwd, dataHome, env: { HOME: home, CODEX_HOME: codexHome } });
  return { cwd, home, codexHome, dataHome, run, toml: path.join(codexHome, 'config.toml'), mcp: path.join(cwd, '.mcp.json'), config: path.join(cwd, '.collab', 'config.json') };
}

/** Every file under the given roots with its bytes, to prove nothing changed. */
function snapshot(...roots: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = readFileSync(p, 'latin1');
    }
  };
  roots.forEach(walk);
  return out;
}

describe('collab init', () => {
  it('writes the config, .mcp.json and the codex table; a second run changes nothing', () => {
    const s = sandbox();
    const r = s.run(['--yes']);
    expect(r.code, r.stderr).toBe(0);

    const config = JSON.parse(readFileSync(s.config, 'utf8'));
    expect(config.memory.serverName).toBe('byterover-mcp');
    expect(config.handoff).toBe('direct');

    const mcp = JSON.parse(readFileSync(s.mcp, 'utf8'));
    const server = mcp.mcpServers['byterover-mcp'];
    expect(server.command).toBe(process.execPath);
    expect(server.args[0]).toMatch(/bin[/\\]collab\.js$/);
    expect(server.args.slice(1, 4)).toEqual(['memory', 'serve', '--db']);
    expect(server.args[4]).toBe(path.join(s.dataHome, 'collab', 'memory.db'));
    expect(server.env).toEqual({});

    const toml = readFileSync(s.toml, 'utf8');
    expect(toml).toContain('[mcp_servers.byterover-mcp]');
    expect(toml).toContain(`command = ${JSON.stringify(process.execPath)}`);
    expect(toml).toContain(`args = [${server.args.map((a: string) => JSON.stringify(a)).join(', ')}]`);
    expect(toml).toMatch(/^default_tools_approval_mode = "approve"$/m);
    expect(toml).toMatch(/^startup_timeout_sec = \d+$/m);

    const before = snapshot(s.cwd, s.home);
    const again = s.run(['--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Nothing to change/);
    expect(snapshot(s.cwd, s.home)).toEqual(before);
  });

  it('keeps other servers in an existing .mcp.json and appends to an existing config.toml verbatim', () => {
    const s = sandbox();
    const other = { mcpServers: { github: { command: 'npx', args: ['-y', 'some-server'], env: { X: '1' } } }, extra: [1, 2] };
    writeFileSync(s.mcp, JSON.stringify(other));
    mkdirSync(s.codexHome, { recursive: true });
    const userToml = '# my settings\nmodel = "o3"\n\n[mcp_servers.other]\ncommand = "x"\n';
    writeFileSync(s.toml, userToml);
    const r = s.run(['--yes']);
    expect(r.code, r.stderr).toBe(0);
    const mcp = JSON.parse(readFileSync(s.mcp, 'utf8'));
    expect(mcp.mcpServers.github).toEqual(other.mcpServers.github);
    expect(mcp.extra).toEqual([1, 2]);
    expect(mcp.mcpServers['byterover-mcp']).toBeDefined();
    const toml = readFileSync(s.toml, 'utf8');
    expect(toml.startsWith(userToml)).toBe(true);
    expect(toml).toContain('[mcp_servers.byterover-mcp]');
  });

  it('leaves an existing codex table of the same name alone and says so', () => {
    const s = sandbox();
    mkdirSync(s.codexHome, { recursive: true });
    const userToml = '[mcp_servers.byterover-mcp]\nurl = "https://example.invalid/mcp"\n';
    writeFileSync(s.toml, userToml);
    const r = s.run(['--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already present; left as it is/);
    expect(readFileSync(s.toml, 'utf8')).toBe(userToml);
  });

  it('refuses an invalid .mcp.json in one line and writes nothing', () => {
    const s = sandbox();
    writeFileSync(s.mcp, '{ "mcpServers": { oops ');
    const before = snapshot(s.cwd, s.home);
    const r = s.run(['--yes']);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\.mcp\.json is not valid JSON.*left untouched/);
    expect(snapshot(s.cwd, s.home)).toEqual(before);
  });

  it('without a TTY and without --yes prints the plan, exits 2 and writes nothing', () => {
    const s = sandbox();
    const r = s.run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/\.mcp\.json/);
    expect(r.stdout).toMatch(/config\.toml/);
    expect(r.stderr).toMatch(/--yes/);
    expect(snapshot(s.cwd, s.home)).toEqual({});
  });

  it('--dry-run prints the plan only; --no-codex / --no-claude choose targets', () => {
    const s = sandbox();
    const dry = s.run(['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/\[mcp_servers\.byterover-mcp\]/);
    expect(snapshot(s.cwd, s.home)).toEqual({});

    const r = s.run(['--yes', '--no-codex']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(s.mcp)).toBe(true);
    expect(existsSync(s.toml)).toBe(false);

    const r2 = s.run(['--yes', '--no-claude']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(existsSync(s.toml)).toBe(true);
  });
});
