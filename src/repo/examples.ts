import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../temporal/config.js';

/** The bundled example repositories (`examples/<name>/repo`), rebuilt from their patches by examples/build.sh when missing. */
export function exampleRepos(): { name: string; path: string }[] {
  const dir = path.join(PROJECT_ROOT, 'examples');
  execFileSync('bash', [path.join(dir, 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'repo', '.git')))
    .map((e) => ({ name: e.name, path: path.join(dir, e.name, 'repo') }));
}
