import { describe, expect, it } from 'vitest';
import { parseEventLines } from '../../src/ledger/fs-ledger.js';

describe('parseEventLines', () => {
  it('reads one object per line', () => {
    const r = parseEventLines('{"type":"a"}\n{"type":"b","n":1}\n');
    expect(r.events).toEqual([{ type: 'a' }, { type: 'b', n: 1 }]);
    expect(r.skipped).toEqual([]);
  });

  it('skips a last line cut by a crash and calls it truncated', () => {
    const r = parseEventLines('{"type":"a"}\n{"type":"b","n":1}\n{"type":"c","te');
    expect(r.events).toEqual([{ type: 'a' }, { type: 'b', n: 1 }]);
    expect(r.skipped).toEqual([{ line: 3, reason: 'truncated', preview: '{"type":"c","te' }]);
  });

  it('keeps a complete last line that only lacks its newline', () => {
    expect(parseEventLines('{"type":"a"}\n{"type":"b"}').events).toEqual([{ type: 'a' }, { type: 'b' }]);
  });

  it('skips garbage in the middle as invalid and keeps what follows', () => {
    const r = parseEventLines('{"type":"a"}\n\u0000\u0000garbage\n[1,2]\nnull\n"str"\n{"type":"b"}\n');
    expect(r.events).toEqual([{ type: 'a' }, { type: 'b' }]);
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([
      [2, 'invalid'],
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'invalid'],
    ]);
  });

  it('ignores blank lines and an empty file', () => {
    expect(parseEventLines('')).toEqual({ events: [], skipped: [] });
    expect(parseEventLines('\n\n{"a":1}\n\n')).toEqual({ events: [{ a: 1 }], skipped: [] });
  });
});
