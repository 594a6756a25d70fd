import { requireLoopbackOnly } from './netns.js';

/** Vitest global setup of the adapter suite: refuse to start outside a loopback-only namespace. */
export default function setup(): void {
  requireLoopbackOnly();
}
