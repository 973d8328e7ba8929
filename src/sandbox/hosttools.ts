/**
 * The host's own choice of toolchain, carried into the local sandbox where the sandbox can see it.
 *
 * The sandbox's fixed PATH (defaultSandboxEnv) names the usual system and version-manager directories. A user who
 * installed a newer tool elsewhere and put it on their PATH (Maven unpacked under /opt as its install guide says, a
 * JDK under /usr/lib/jvm chosen with JAVA_HOME) ran the project's tests on the host with that tool, and filled its
 * caches with it; the sandbox ran the older system copy instead, and a build whose plugins require the newer one
 * failed every test run (`requires Maven version 3.9`). So the host's PATH, in the host's order, comes first, keeping
 * only the directories that the sandbox shows (a bound read-only path), and JAVA_HOME comes along on the same terms.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

/** Host variables that pick a toolchain by a path, passed on when that path is visible inside. */
const TOOL_HOME_VARS = ['JAVA_HOME'] as const;

function isUnder(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `base` (the sandbox's fixed environment) with PATH led by the host's PATH entries that lie under `visible` and
 * exist, then the fixed entries not already named, and with each TOOL_HOME_VARS entry of the host that lies there.
 * A node_modules/.bin on the host's PATH is left out: npm puts the running package's own tools there (ssr's, when
 * it is started through npx or npm run), not a toolchain the repository's tests were run with.
 */
export function withHostTools(
  base: Record<string, string>,
  visible: readonly string[],
  hostEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const shown = (p: string): boolean => path.isAbsolute(p) && visible.some((v) => isUnder(path.normalize(p), v)) && isDir(p);
  const dirs: string[] = [];
  const add = (d: string): void => {
    const n = d.length > 1 ? d.replace(/\/+$/, '') : d;
    if (!dirs.includes(n)) dirs.push(n);
  };
  for (const d of (hostEnv.PATH ?? '').split(':')) {
    if (d.split('/').includes('node_modules')) continue;
    if (shown(d)) add(d);
  }
  for (const d of (base.PATH ?? '').split(':')) if (d) add(d);
  const env: Record<string, string> = { ...base, PATH: dirs.join(':') };
  for (const name of TOOL_HOME_VARS) {
    const v = hostEnv[name];
    if (v && shown(v)) env[name] = v;
  }
  return env;
}
