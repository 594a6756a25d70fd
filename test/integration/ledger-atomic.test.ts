import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendLineDurable, writeFileAtomic } from '../../src/ledger/atomic-write.js';
import { bundleChild } from '../fixtures/ledger/bundle-child.js';

let dir: string;
const started: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  for (const child of started) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

describe('writeFileAtomic', () => {
  let writerScript: string;
  beforeAll(async () => {
    writerScript = await bundleChild('./atomic-writer.ts');
  });

  it('a reader never sees a missing, partial or mixed file while another process replaces it many times', async () => {
    const file = join(dir, 'state.json');
    writeFileAtomic(file, JSON.stringify({ i: 0, body: '', check: 0 }));
    const child = spawn(process.execPath, [writerScript, file, '1500'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let running = true;
    void exited.then(() => (running = false));
    let reads = 0;
    let lastSeen = 0;
    while (running) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { i: number; body: string; check: number };
      expect(doc.body.length).toBe(doc.check);
      expect(doc.i).toBeGreaterThanOrEqual(lastSeen); // versions only move forward
      lastSeen = doc.i;
      reads++;
      // Yield so the exit event can arrive; reading continues as fast as the loop allows.
      await new Promise((r) => setImmediate(r));
    }
    expect(await exited).toBe(0);
    expect(out).toBe('done\n');
    expect(reads).toBeGreaterThan(10);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { i: number }).i).toBe(1500);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('many quick replacements in one process leave only the last version and no temp files', () => {
    const file = join(dir, 'x.txt');
    for (let i = 0; i < 500; i++) writeFileAtomic(file, `version ${i}\n`);
    expect(readFileSync(file, 'utf8')).toBe('version 499\n');
    expect(readdirSync(dir)).toEqual(['x.txt']);
  });

  it('exclusive mode refuses an existing file and leaves it as it was', () => {
    const file = join(dir, 'once.json');
    writeFileAtomic(file, 'first', { exclusive: true });
    expect(() => writeFileAtomic(file, 'second', { exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['once.json']);
  });

  it('a failed write leaves no temp file (directory missing)', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'f'), 'x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('appendLineDurable', () => {
  it('appends whole lines, and starts a new line after a cut one', () => {
    const file = join(dir, 'events.jsonl');
    appendLineDurable(file, '{"a":1}');
    writeFileSync(file, '{"cut', { flag: 'a' });
    appendLineDurable(file, '{"b":2}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"cut\n{"b":2}\n');
  });
});
