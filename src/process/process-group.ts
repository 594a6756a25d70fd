import { readdirSync, readFileSync } from 'node:fs';

/** Sends `signal` to every process of group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM on the group (a member changed user): at least reach the leader.
    try {
      process.kill(pgid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** True while group `pgid` has a member that still runs (zombies waiting to be reaped do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  // Signal 0 also answers for zombies, which can linger for ever where pid 1 does not reap; ask /proc.
  const members = livingMembers(pgid);
  return members === undefined || members.length > 0;
}

/** Pids of the non-zombie members of group `pgid` (Linux /proc); undefined where that cannot be known. */
export function livingMembers(pgid: number): number[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the parenthesised command: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z') out.push(Number(name));
  }
  return out;
}

/** The environment variable every child of one run carries, so descendants that left its process group can still be found. */
export const RUN_TAG_VAR = 'COLLAB_RUN_TAG';

/** Pids of running processes whose environment holds `RUN_TAG_VAR=tag` (Linux /proc; [] elsewhere). */
export function taggedProcesses(tag: string): number[] {
  if (process.platform !== 'linux') return [];
  const needle = `${RUN_TAG_VAR}=${tag}`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(needle) && !isZombie(name)) out.push(Number(name));
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return out;
}

function isZombie(pid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
