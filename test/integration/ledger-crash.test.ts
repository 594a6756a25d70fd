import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FsLedger } from '../../src/ledger/fs-ledger.js';
import { isAtomicTempName } from '../../src/ledger/atomic-write.js';
import { sampleSession } from '../fixtures/ledger/sample-session.js';
import { bundleChild } from '../fixtures/ledger/bundle-child.js';

const ID = 'SESSION-20251027-K9M2P7X4';
let dir: string;
let writerScript: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'collab-crash-'));
  writerScript = await bundleChild('./crash-writer.ts');
});
afterAll(() => {
  for (const child of started) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer until it reported `rounds` completed rounds, then SIGKILLs it; returns the last round it reported. */
async function runAndKill(root: string, rounds: number): Promise<number> {
  const child = spawn(process.execPath, [writerScript, root, ID], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let last = 0;
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      last = Number(line);
      if (last >= rounds) {
        rl.close();
        process.kill(child.pid!, 'SIGKILL');
        resolve();
      }
    });
    void exited.then(() => (last >= rounds ? resolve() : reject(new Error(`writer ended after ${last} rounds: ${stderr}`))));
  });
  await exited;
  expect(child.signalCode).toBe('SIGKILL');
  return last;
}

describe('crash safety', () => {
  it('a session killed with SIGKILL in the middle of saves always loads and continues', async () => {
    const root = join(dir, '.collab');
    new FsLedger(root).create(sampleSession(ID));
    const kills = 8;
    for (let k = 0; k < kills; k++) {
      // Each run also proves the lock of the killed writer (a dead pid) is taken over.
      const reported = await runAndKill(root, 2 + ((k * 13) % 40));
      const ledger = new FsLedger(root);
      const session = ledger.load(ID);
      const round = Number(/^round (\d+)$/.exec(session.title)?.[1]);
      expect(round).toBeGreaterThanOrEqual(reported);
      expect(session.iteration).toBe(round);
      expect(ledger.readArtifact(ID, '01-plan.md')).toMatch(/^# plan round \d+\nx+\n$/);
      const events = ledger.readEventsDetailed(ID);
      expect(events.events.length).toBeGreaterThan(0);
      // At most one cut line per kill, never more garbage than that.
      expect(events.skipped.length).toBeLessThanOrEqual(k + 1);
      for (const s of events.skipped) expect(s.preview.startsWith('{"at":')).toBe(true);
      // A kill inside an atomic write leaves only a dot-named temp file beside the intact originals.
      const names = readdirSync(join(root, 'sessions', ID)).filter((n) => !['session.json', 'session.lock', '01-plan.md', 'events.jsonl', 'logs'].includes(n));
      for (const n of names) expect(isAtomicTempName(n)).toBe(true);
    }
    const ledger = new FsLedger(root);
    ledger.lock(ID).release(); // the last writer's stale lock is taken over here too
    expect(ledger.list()).toEqual([ID]);
  });
});
