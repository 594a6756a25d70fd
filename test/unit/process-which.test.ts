import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../../src/process/which.js';

describe('findExecutable (injected file system)', () => {
  const files = new Set(['/opt/a/codex', '/opt/b/codex', '/opt/b/claude', 'C:\\tools\\codex.CMD', '/work/bin/tool']);
  const isExecutable = (p: string): boolean => files.has(p);

  it('takes the first PATH entry that has the program', () => {
    expect(findExecutable('codex', '/opt/none:/opt/a:/opt/b', { isExecutable, platform: 'linux' })).toBe('/opt/a/codex');
    expect(findExecutable('claude', '/opt/a:/opt/b', { isExecutable, platform: 'linux' })).toBe('/opt/b/claude');
  });

  it('is undefined when nothing matches, for an empty name or an empty PATH', () => {
    expect(findExecutable('nope', '/opt/a:/opt/b', { isExecutable, platform: 'linux' })).toBeUndefined();
    expect(findExecutable('', '/opt/a', { isExecutable, platform: 'linux' })).toBeUndefined();
    expect(findExecutable('codex', '', { isExecutable, platform: 'linux' })).toBeUndefined();
    expect(findExecutable('codex', undefined, { isExecutable, platform: 'linux' })).toBeUndefined();
  });

  it('never searches the current directory through empty or relative PATH entries', () => {
    expect(findExecutable('tool', '::bin:.', { isExecutable, platform: 'linux', cwd: '/work' })).toBeUndefined();
  });

  it('treats a name with a slash as a path', () => {
    expect(findExecutable('./bin/tool', '/opt/a', { isExecutable, platform: 'linux', cwd: '/work' })).toBe('/work/bin/tool');
    expect(findExecutable('/opt/b/claude', '', { isExecutable, platform: 'linux' })).toBe('/opt/b/claude');
  });

  it('tries PATHEXT on Windows', () => {
    expect(findExecutable('codex', 'C:\\nothing;"C:\\tools"', { isExecutable, platform: 'win32', pathExt: '.EXE;.CMD' })).toBe('C:\\tools\\codex.CMD');
  });
});

describe('findExecutable (real file system)', () => {
  it('finds executable files only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collab-which-'));
    try {
      writeFileSync(join(dir, 'runme'), '#!/bin/sh\n');
      chmodSync(join(dir, 'runme'), 0o755);
      writeFileSync(join(dir, 'plain'), 'data');
      chmodSync(join(dir, 'plain'), 0o644);
      mkdirSync(join(dir, 'adir'));
      expect(findExecutable('runme', dir)).toBe(join(dir, 'runme'));
      expect(findExecutable('adir', dir)).toBeUndefined();
      if (process.getuid?.() !== 0) expect(findExecutable('plain', dir)).toBeUndefined(); // root may execute anything with access()
      expect(findExecutable('sh', process.env.PATH)).toMatch(/\/sh$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
