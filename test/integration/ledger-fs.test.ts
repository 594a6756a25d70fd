import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLedger } from '../../src/ledger/fs-ledger.js';
import { isCollabError } from '../../src/core/errors.js';
import { sampleSession } from '../fixtures/ledger/sample-session.js';

const ID = 'SESSION-20251027-K9M2P7X4';
const ID2 = 'SESSION-20251028-AAAAAAAA';
const ID3 = 'SESSION-20251026-ZZZZZZZZ';

let dir: string;
let root: string;
let ledger: FsLedger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collab-ledger-'));
  root = join(dir, '.collab');
  ledger = new FsLedger(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCollabError(err) ? err.code : `non-collab: ${String(err)}`;
  }
  return undefined;
}

function errorOf(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (isCollabError(err)) return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
    throw err;
  }
  throw new Error('expected an error');
}

describe('FsLedger sessions', () => {
  it('does not touch disk when constructed', () => {
    expect(existsSync(root)).toBe(false);
    expect(ledger.root).toBe(root);
  });

  it('creates, loads and saves a session with the documented layout', () => {
    ledger.create(sampleSession(ID));
    expect(ledger.exists(ID)).toBe(true);
    expect(readdirSync(join(root, 'sessions', ID)).sort()).toEqual(['logs', 'session.json']);
    expect(ledger.load(ID)).toEqual(sampleSession(ID));
    ledger.save({ ...ledger.load(ID), title: 'Renamed', maxIterations: 5 });
    expect(ledger.load(ID)).toMatchObject({ title: 'Renamed', maxIterations: 5 });
    // A state its artifacts do not lead to (a hand edit) is refused on load, and the file is left as it is.
    ledger.save({ ...ledger.load(ID), state: 'validated' });
    const edited = readFileSync(join(root, 'sessions', ID, 'session.json'), 'utf8');
    expect(() => ledger.load(ID)).toThrow(expect.objectContaining({ code: 'CORRUPT_SESSION', message: expect.stringMatching(/state is validated but it has no artifacts/) }));
    expect(readFileSync(join(root, 'sessions', ID, 'session.json'), 'utf8')).toBe(edited);
    // No temp files left behind.
    expect(readdirSync(join(root, 'sessions', ID)).sort()).toEqual(['logs', 'session.json']);
  });

  it('refuses to create a session twice and keeps the first', () => {
    ledger.create(sampleSession(ID, { title: 'first' }));
    expect(codeOf(() => ledger.create(sampleSession(ID, { title: 'second' })))).toBe('INTERNAL');
    expect(ledger.load(ID).title).toBe('first');
  });

  it('reuses a directory left by a create that crashed before session.json', () => {
    mkdirSync(join(root, 'sessions', ID), { recursive: true });
    expect(ledger.exists(ID)).toBe(false);
    ledger.create(sampleSession(ID));
    expect(ledger.load(ID).id).toBe(ID);
  });

  it('refuses to write an invalid session (it could never be loaded)', () => {
    ledger.create(sampleSession(ID));
    const bad = { ...sampleSession(ID), iteration: 0 };
    expect(codeOf(() => ledger.save(bad))).toBe('INTERNAL');
    expect(ledger.load(ID).iteration).toBe(1);
  });

  it('save of a session that was never created is SESSION_NOT_FOUND', () => {
    expect(codeOf(() => ledger.save(sampleSession(ID)))).toBe('SESSION_NOT_FOUND');
  });

  it('load of a missing session is SESSION_NOT_FOUND', () => {
    const e = errorOf(() => ledger.load(ID));
    expect(e.code).toBe('SESSION_NOT_FOUND');
    expect(e.message).toContain(ID);
  });

  it.each(['../x', '../../etc', 'SESSION-20251027-k9m2p7x4', 'SESSION-20251327-K9M2P7X4', `${ID}/..`, '', '/tmp'])('rejects id %j before touching disk', (bad) => {
    for (const call of [
      () => ledger.load(bad),
      () => ledger.exists(bad),
      () => ledger.save(sampleSession(bad)),
      () => ledger.create(sampleSession(bad)),
      () => ledger.writeArtifact(bad, '01-plan.md', 'x'),
      () => ledger.readArtifact(bad, '01-plan.md'),
      () => ledger.appendEvent(bad, {}),
      () => ledger.readEvents(bad),
      () => ledger.logDir(bad),
      () => ledger.lock(bad),
      () => ledger.setCurrent(bad),
    ]) {
      expect(codeOf(call)).toBe('INVALID_SESSION_ID');
    }
    expect(existsSync(root)).toBe(false);
  });
});

describe('FsLedger corrupt session.json', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['empty', '', /is empty/],
    ['whitespace', '  \n', /is empty/],
    ['truncated JSON', '{"version":1,"id":"SESSION-20251027-K9M2P7X4","task":"x', /is not valid JSON/],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b]), /is not valid JSON/],
    ['schema: wrong types', JSON.stringify({ ...sampleSession(ID), iteration: 'one', state: 'flying' }), /fails the session schema: .*iteration/],
    ['schema: not an object', '[1,2,3]', /fails the session schema/],
    ['bad artifact entry', JSON.stringify({ ...sampleSession(ID), artifacts: [{ phase: 'plan', file: '../../x.md' }] }), /artifacts\[0\]/],
    ['another id inside', JSON.stringify(sampleSession(ID2)), /names session SESSION-20251028-AAAAAAAA/],
  ];

  it.each(cases)('%s -> CORRUPT_SESSION, one line naming the file, file byte-identical', (_name, content, what) => {
    ledger.create(sampleSession(ID));
    const file = join(root, 'sessions', ID, 'session.json');
    writeFileSync(file, content);
    const before = readFileSync(file);
    const e = errorOf(() => ledger.load(ID));
    expect(e.code).toBe('CORRUPT_SESSION');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(what);
    expect(e.message).not.toContain('\n');
    expect(e.hint).toMatch(/left as it is/);
    expect(readFileSync(file).equals(before)).toBe(true);
    // Listing still shows it, so `collab list` can report it as corrupt rather than hide it.
    expect(ledger.list()).toEqual([ID]);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('an unreadable session.json (a directory) is CORRUPT_SESSION', () => {
    mkdirSync(join(root, 'sessions', ID, 'session.json'), { recursive: true });
    expect(codeOf(() => ledger.load(ID))).toBe('CORRUPT_SESSION');
  });
});

describe('FsLedger artifacts', () => {
  beforeEach(() => ledger.create(sampleSession(ID)));

  it('writes and reads verbatim', () => {
    const text = '**[SESSION-20251027-K9M2P7X4] CLAUDE PLAN: x**\r\n\n## Status\n✅ â€" garbled kept\n\n';
    const path = ledger.writeArtifact(ID, '01-plan.md', text);
    expect(path).toBe(join(root, 'sessions', ID, '01-plan.md'));
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(ledger.readArtifact(ID, '01-plan.md')).toBe(text);
    expect(ledger.artifactPath(ID, '05-implement-iter2.md')).toBe(join(root, 'sessions', ID, '05-implement-iter2.md'));
    ledger.writeArtifact(ID, '01-plan.md', 'replaced');
    expect(ledger.readArtifact(ID, '01-plan.md')).toBe('replaced');
  });

  it.each(['../x', '../../session.json', 'session.json', '01-plan.md/../../x', '/etc/passwd', 'events.jsonl'])('rejects file name %j', (bad) => {
    expect(codeOf(() => ledger.writeArtifact(ID, bad, 'x'))).toBe('USAGE');
    expect(codeOf(() => ledger.readArtifact(ID, bad))).toBe('USAGE');
    expect(codeOf(() => ledger.artifactPath(ID, bad))).toBe('USAGE');
  });

  it('a missing artifact is NOT_FOUND; writing into a missing session is SESSION_NOT_FOUND', () => {
    expect(codeOf(() => ledger.readArtifact(ID, '02-review.md'))).toBe('NOT_FOUND');
    expect(codeOf(() => ledger.writeArtifact(ID2, '01-plan.md', 'x'))).toBe('SESSION_NOT_FOUND');
    expect(existsSync(join(root, 'sessions', ID2))).toBe(false);
  });

  it('logDir is inside the session and exists', () => {
    rmSync(join(root, 'sessions', ID, 'logs'), { recursive: true });
    const logs = ledger.logDir(ID);
    expect(logs).toBe(join(root, 'sessions', ID, 'logs'));
    expect(existsSync(logs)).toBe(true);
  });
});

describe('FsLedger events', () => {
  beforeEach(() => ledger.create(sampleSession(ID)));
  const eventsFile = (): string => join(root, 'sessions', ID, 'events.jsonl');

  it('appends one JSON object per line and reads them back', () => {
    expect(ledger.readEvents(ID)).toEqual([]);
    ledger.appendEvent(ID, { type: 'phase.started', at: '2025-10-27T10:00:00.000Z', text: 'line\nbreak' });
    ledger.appendEvent(ID, { type: 'phase.finished' });
    const lines = readFileSync(eventsFile(), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const events = ledger.readEvents(ID);
    expect(events[0]).toEqual({ type: 'phase.started', at: '2025-10-27T10:00:00.000Z', text: 'line\nbreak' });
    expect(events[1]?.type).toBe('phase.finished');
    expect(typeof events[1]?.at).toBe('string'); // added when missing
  });

  it('skips a truncated last line, and the next append stays on its own line', () => {
    ledger.appendEvent(ID, { type: 'a' });
    appendFileSync(eventsFile(), '{"type":"cut-by-cra');
    expect(ledger.readEventsDetailed(ID).skipped).toEqual([{ line: 2, reason: 'truncated', preview: '{"type":"cut-by-cra' }]);
    expect(ledger.readEvents(ID).map((e) => e.type)).toEqual(['a']);
    ledger.appendEvent(ID, { type: 'b' });
    const detailed = ledger.readEventsDetailed(ID);
    expect(detailed.events.map((e) => e.type)).toEqual(['a', 'b']);
    expect(detailed.skipped).toEqual([{ line: 2, reason: 'invalid', preview: '{"type":"cut-by-cra' }]);
  });

  it('skips garbage in the middle and reports it', () => {
    ledger.appendEvent(ID, { type: 'a' });
    appendFileSync(eventsFile(), 'not json\n');
    ledger.appendEvent(ID, { type: 'b' });
    const r = ledger.readEventsDetailed(ID);
    expect(r.events.map((e) => e.type)).toEqual(['a', 'b']);
    expect(r.skipped).toEqual([{ line: 2, reason: 'invalid', preview: 'not json' }]);
  });

  it('appendEvent on a missing session is SESSION_NOT_FOUND', () => {
    expect(codeOf(() => ledger.appendEvent(ID2, { type: 'x' }))).toBe('SESSION_NOT_FOUND');
  });
});

describe('FsLedger list and current', () => {
  it('lists sessions oldest first and ignores everything else', () => {
    expect(ledger.list()).toEqual([]);
    const later = 'SESSION-20251027-BBBBBBBB';
    ledger.create(sampleSession(ID2, { createdAt: '2025-10-28T09:00:00.000Z' }));
    ledger.create(sampleSession(later, { createdAt: '2025-10-27T12:00:00.000Z' }));
    ledger.create(sampleSession(ID, { createdAt: '2025-10-27T08:00:00.000Z' }));
    ledger.create(sampleSession(ID3, { createdAt: '2025-10-26T23:59:00.000Z' }));
    const sessions = join(root, 'sessions');
    mkdirSync(join(sessions, 'not-a-session'));
    mkdirSync(join(sessions, 'SESSION-20251029-CCCCCCCC')); // no session.json: a crashed create
    writeFileSync(join(sessions, 'SESSION-20251030-DDDDDDDD'), 'a file, not a dir');
    writeFileSync(join(sessions, '.DS_Store'), '');
    expect(ledger.list()).toEqual([ID3, ID, later, ID2]);
  });

  it('current is undefined until set, and for a missing or invalid file', () => {
    expect(ledger.current()).toBeUndefined();
    ledger.setCurrent(ID);
    expect(readFileSync(join(root, 'current'), 'utf8')).toBe(`${ID}\n`);
    expect(ledger.current()).toBe(ID);
    writeFileSync(join(root, 'current'), '../../etc/passwd\n');
    expect(ledger.current()).toBeUndefined();
    writeFileSync(join(root, 'current'), '');
    expect(ledger.current()).toBeUndefined();
    writeFileSync(join(root, 'current'), `  ${ID2}  \r\n`);
    expect(ledger.current()).toBe(ID2);
  });
});
