import { customAlphabet } from 'nanoid';
import { CollabError } from '../core/errors.js';
import { sanitizeAgentText } from '../core/sanitize.js';
import { ROLES } from '../core/phases.js';
import type { HandoffMode } from '../core/ports.js';
import type { LedgerPort, Session } from '../core/session.js';
import { generateSessionId, SESSION_ID_ALPHABET } from '../core/session-id.js';
import type { CollabConfig } from '../core/config.js';
import { titleFromTask } from './naming.js';

const random8 = customAlphabet(SESSION_ID_ALPHABET, 8);

/** Options of a new session. */
export interface NewSessionOptions {
  task: string;
  title?: string;
  workDir: string;
  now: Date;
  handoff?: HandoffMode;
  maxIterations?: number;
  agents?: Record<string, string>;
}

/** Creates a new session in the ledger (state `created`) and makes it current. */
export function createSession(ledger: LedgerPort, config: CollabConfig, opts: NewSessionOptions): Session {
  const session = draftSession(ledger, config, opts);
  ledger.create(session);
  ledger.setCurrent(session.id);
  ledger.appendEvent(session.id, { type: 'session.created', sessionId: session.id, task: session.task, at: session.createdAt });
  return session;
}

/** The session `createSession` would write, without writing anything (validates the task, picks a free id). */
export function draftSession(ledger: LedgerPort, config: CollabConfig, opts: NewSessionOptions): Session {
  // The task is shown in terminals and prompts: no escape sequences or control characters in it.
  const task = sanitizeAgentText(opts.task).text.replace(/\s+/g, ' ').trim();
  if (!task) throw new CollabError('USAGE', 'the task is empty: say what to build, e.g. collab start "rate limiting"');
  if (task.length > 2000) throw new CollabError('USAGE', `the task is ${task.length} characters; keep it under 2000 (put details in --plan-file)`);
  const id = generateSessionId({ now: opts.now, random: random8, isTaken: (x) => ledger.exists(x) });
  const at = opts.now.toISOString();
  const agents: Record<string, string> = {};
  for (const r of ROLES) agents[r] = opts.agents?.[r] ?? config.roles[r].agent;
  const session: Session = {
    version: 1,
    id,
    task,
    title: opts.title ? titleFromTask(sanitizeAgentText(opts.title).text) : titleFromTask(task),
    createdAt: at,
    updatedAt: at,
    state: 'created',
    iteration: 1,
    reviewRound: 1,
    maxIterations: opts.maxIterations ?? config.maxIterations,
    handoff: opts.handoff ?? config.handoff,
    workDir: opts.workDir,
    agents,
    artifacts: [],
    history: [],
    patternsUsed: [],
  };
  return session;
}
