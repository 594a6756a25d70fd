import { syncOutbox } from '../../engine/memory-io.js';
import { createContext } from '../context.js';
import { buildEngineDeps } from '../engine-deps.js';
import type { Handler } from '../program.js';

/** `collab memory sync`: replays the outbox (artifacts only in the ledger) into memory. */
export const syncCommand: Handler = async (_cmd, g, out) => {
  const ctx = createContext(g, out);
  const ids = ctx.ledger.list().filter((id) => {
    try {
      return ctx.ledger.load(id).artifacts.some((a) => a.outbox);
    } catch {
      return false;
    }
  });
  if (ids.length === 0) {
    if (g.json) out.json({ synced: [], failed: [] });
    else out.line('the outbox is empty: every artifact is in memory');
    return 0;
  }
  const memory = await ctx.connectMemory();
  try {
    const res = await syncOutbox(buildEngineDeps(ctx, memory), ids);
    if (g.json) out.json(res);
    else {
      for (const s of res.synced) out.line(`${out.c.green('✔')} ${s.sessionId} ${s.file} ${s.alreadyThere ? 'was already in memory' : `stored${s.memoryId ? ` as ${s.memoryId}` : ''}`} and verified`);
      for (const f of res.failed) out.line(`${out.c.red('✖')} ${f.sessionId} ${f.file}: ${f.error}`);
    }
    return res.failed.length ? 7 : 0;
  } finally {
    await memory.close();
  }
};
