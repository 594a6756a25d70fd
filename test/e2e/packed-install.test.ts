import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('collab from a packed install (npm pack → npm install the tarball → collab demo)', () => {
  it('runs the demo, copies the whole app and passes the workload tests on real Redis', () => {
    const packDir = tempDir('collab-pack-');
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_ignore_scripts: 'false' } });
    const tarball = path.join(packDir, out.trim().split('\n').pop()!);
    const project = tempDir('collab-installed-');
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'try-collab', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, stdio: 'pipe' });
    const demoDir = path.join(tempDir('collab-packed-demo-'), 'demo');
    const r = spawnSync(path.join(project, 'node_modules', '.bin', 'collab'), ['demo', '--dir', demoDir], {
      cwd: project,
      env: { ...process.env, XDG_DATA_HOME: tempDir('collab-xdg-'), NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(readdirSync(path.join(demoDir, 'src')).sort()).toEqual(expect.arrayContaining(['app.js', 'auth.js', 'config.js', 'data.js', 'routes', 'rate-limit']));
    expect(r.stdout).toMatch(/workload tests passed on the result \(\d+ passed, 0 failed\)/);
  }, 360_000);
});
