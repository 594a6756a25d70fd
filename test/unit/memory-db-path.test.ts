import { describe, expect, it } from 'vitest';
import { defaultDbPath } from '../../src/memory/db-path.js';

describe('defaultDbPath', () => {
  it.each([
    [{ XDG_DATA_HOME: '/data' }, '/data/collab/memory.db'],
    [{}, '/home/u/.local/share/collab/memory.db'],
    [{ XDG_DATA_HOME: '' }, '/home/u/.local/share/collab/memory.db'],
    // The XDG spec: a relative value is invalid and ignored.
    [{ XDG_DATA_HOME: 'relative/dir' }, '/home/u/.local/share/collab/memory.db'],
    [{ XDG_DATA_HOME: undefined }, '/home/u/.local/share/collab/memory.db'],
  ])('%j', (env, expected) => {
    expect(defaultDbPath(env, '/home/u')).toBe(expected);
  });
});
