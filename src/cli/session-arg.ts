import { CollabError } from '../core/errors.js';
import { assertSessionId } from '../core/session-id.js';
import type { LedgerPort } from '../core/session.js';

/** The session a command acts on: the argument (validated) or `.collab/current`. */
export function resolveSession(ledger: LedgerPort, arg: string | undefined): string {
  if (arg !== undefined) {
    const id = assertSessionId(arg.trim() === arg ? arg : arg.trim());
    if (!ledger.exists(id)) throw new CollabError('SESSION_NOT_FOUND', `no session ${id} in ${ledger.root}`, { hint: 'run `collab list` to see the sessions here' });
    return id;
  }
  const cur = ledger.current();
  if (!cur) throw new CollabError('NO_CURRENT_SESSION', `no current session in ${ledger.root}`, { hint: 'start one with `collab start "<task>"` or name one (see `collab list`)' });
  if (!ledger.exists(cur)) throw new CollabError('SESSION_NOT_FOUND', `.collab/current names ${cur}, which is not in the ledger`, { hint: 'run `collab list` and name a session' });
  return cur;
}
