import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/process/line-splitter.js';

function split(chunks: (string | Buffer)[]): { lines: string[]; text: string } {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(c);
  s.end();
  return { lines, text: s.text };
}

describe('LineSplitter', () => {
  it('splits lines across chunk boundaries and keeps the partial last line', () => {
    expect(split(['a', 'b\nc', 'd\n\ne', 'f']).lines).toEqual(['ab', 'cd', '', 'ef']);
  });

  it('drops the CR of CRLF line ends but keeps the raw text', () => {
    const r = split(['one\r\ntwo\r', '\nthree\r\n']);
    expect(r.lines).toEqual(['one', 'two', 'three']);
    expect(r.text).toBe('one\r\ntwo\r\nthree\r\n');
  });

  it('does not emit an empty line for a trailing newline, nor anything for no output', () => {
    expect(split(['x\n']).lines).toEqual(['x']);
    expect(split([]).lines).toEqual([]);
  });

  it('keeps multi-byte characters cut between chunks', () => {
    const bytes = Buffer.from('€uro ✓\n日本', 'utf8');
    const chunks = Array.from(bytes, (b) => Buffer.from([b])); // one byte per chunk
    const r = split(chunks);
    expect(r.lines).toEqual(['€uro ✓', '日本']);
    expect(r.text).toBe('€uro ✓\n日本');
  });
});
