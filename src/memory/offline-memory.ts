import { CollabError } from '../core/errors.js';
import type { MemoryPort, MemoryRecord, StoreResult } from '../core/ports.js';

/**
 * Stands in for a remote memory server that could not be reached when the command started: every
 * call fails with MEMORY_UNAVAILABLE, so the engine keeps artifacts in the outbox and reads earlier
 * ones from the ledger instead of refusing to work.
 */
export class OfflineMemory implements MemoryPort {
  readonly remote = true;
  readonly describe: string;

  constructor(
    private readonly target: string,
    private readonly reason: string,
  ) {
    this.describe = `${target} (unreachable)`;
  }

  private fail(): never {
    throw new CollabError('MEMORY_UNAVAILABLE', `memory server ${this.target} is unreachable: ${this.reason}`);
  }

  async store(_text: string): Promise<StoreResult> {
    return this.fail();
  }

  async retrieve(_query: string, _limit?: number): Promise<MemoryRecord[]> {
    return this.fail();
  }

  async lookup(_sessionId: string): Promise<MemoryRecord[]> {
    return this.fail();
  }

  async close(): Promise<void> {}
}
