import path from 'node:path';
import { isCollabError } from '../core/errors.js';
import { exitCodeFor } from './exit-codes.js';

/** `collab memory serve --db F` without commander: the path agents start on every run. */
export async function serveFast(db: string): Promise<number> {
  const { runStdioServer } = await import('../memory/serve.js');
  try {
    await runStdioServer({ dbPath: path.resolve(db), log: (line: string) => process.stderr.write(`${line}\n`) });
    return 0;
  } catch (err) {
    process.stderr.write(`collab: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return isCollabError(err) ? exitCodeFor(err.code) : 1;
  }
}
