/**
 * The guard of the real-binary tests: they may only run where nothing beyond 127.0.0.1 is
 * reachable, i.e. in a fresh network namespace that has nothing but loopback.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** Interfaces other than loopback in this process's network namespace (empty inside `unshare -n`). */
export function nonLoopbackInterfaces(): string[] {
  const names = new Set<string>();
  // /proc/net/dev follows the namespace (sysfs may not); it lists interfaces without addresses too.
  try {
    for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
      const name = line.split(':')[0]?.trim();
      if (name) names.add(name);
    }
  } catch {
    // not Linux: rely on os.networkInterfaces() below
  }
  for (const [name, addrs] of Object.entries(networkInterfaces())) if (addrs?.some((a) => !a.internal)) names.add(name);
  names.delete('lo');
  return [...names].sort();
}

/** Throws (fails the suite, never skips it) unless only loopback exists. */
export function requireLoopbackOnly(): void {
  const others = nonLoopbackInterfaces();
  if (others.length) {
    throw new Error(
      `refusing to run the real-agent tests: this network namespace has ${others.join(', ')} besides loopback. ` +
        'Run them with `sh test/agents/run-in-netns.sh` (as root: a fresh namespace with only 127.0.0.1).',
    );
  }
}
