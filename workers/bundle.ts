import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every source the workflow bundle can include: a change to any of them makes a new bundle. */
function sourcesHash(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else if (e.name.endsWith('.ts')) h.update(p).update(readFileSync(p));
    }
  };
  walk(path.join(ROOT, 'workflows'));
  for (const f of ['src/episode/types.ts', 'src/rewards.ts', 'src/config/schema.ts']) h.update(readFileSync(path.join(ROOT, f)));
  h.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  return h.digest('hex').slice(0, 16);
}

/** Bundling takes seconds; workers of one checkout share one cached bundle. */
export async function workflowBundle(cacheDir: string): Promise<{ code: string }> {
  const file = path.join(cacheDir, `workflows-${sourcesHash()}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') });
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
  return { code };
}
