import { existsSync } from 'node:fs';
import { lstat, readlink, realpath, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Packages the rate-limiting workload app needs at run time. */
export const WORKLOAD_PACKAGES = ['express', 'express-rate-limit', 'rate-limit-redis', 'redis'] as const;

/**
 * Makes the workload's dependencies resolvable from a copied app directory without running
 * npm there: links `<appDir>/node_modules` to the node_modules directory that holds `express`
 * as resolved from `fromUrl` (collab's own module URL; in a packed install that is the
 * installing project's node_modules, which carries collab's dependencies).
 * An existing real `node_modules` directory is left alone. Returns the directory in use.
 */
export async function linkWorkloadDeps(appDir: string, fromUrl: string): Promise<string> {
  const require = createRequire(fromUrl);
  let expressManifest: string;
  try {
    expressManifest = require.resolve('express/package.json');
  } catch (cause) {
    throw new Error(`cannot find express from ${fromUrl}; the workload's dependencies are not installed`, { cause });
  }
  // <modules>/express/package.json -> <modules>
  const modulesDir = path.dirname(path.dirname(expressManifest));
  // The link exposes this one directory, so every package must sit in it (not nested deeper).
  const missing = WORKLOAD_PACKAGES.filter((name) => !existsSync(path.join(modulesDir, name, 'package.json')));
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not installed next to express in ${modulesDir}`);

  const link = path.join(appDir, 'node_modules');
  const existing = await lstat(link).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    const target = path.resolve(appDir, await readlink(link));
    if ((await realpath(target).catch(() => target)) === (await realpath(modulesDir))) return modulesDir;
    throw new Error(`${link} links to ${target}, not to ${modulesDir}; remove it first`);
  }
  if (existing) return link;
  // 'junction' lets Windows create the link without elevated rights; elsewhere it is ignored.
  await symlink(modulesDir, link, 'junction');
  return modulesDir;
}
