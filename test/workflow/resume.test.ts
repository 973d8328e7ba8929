/** The whole `ssr campaign start` process SIGKILLed mid-campaign; `ssr campaign resume` finishes it, nothing lost or doubled. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { statusQuery } from '../../workflows/campaign.js';
import { listEpisodes, listStepMetrics } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

let env: TestEnv;
const children: ChildProcess[] = [];
before(async () => { env = await startTestEnv(); });
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await env?.stop();
});

function ssr(args: string[]): ChildProcess & { out: string } {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: env.env, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: string };
  c.out = '';
  c.stdout!.on('data', (d) => { c.out += d; });
  c.stderr!.on('data', (d) => { c.out += d; });
  children.push(c);
  return c;
}

test('SIGKILL of the campaign process, then `ssr campaign resume`: finished steps are kept, every episode counted once', async () => {
  const id = 't-resume';
  const repo = exampleRepos().find((r) => r.name !== 'exprel')!;
  const cfg = path.join(env.home, 'resume.yaml');
  writeFileSync(cfg, `repos:\n  - path: ${repo.path}\nsteps: 3\nrounds: 1\nsolves: 2\nsolverTestRuns: 4\nheartbeatTimeoutSec: 8\nhigherOrder:\n  enabled: false\n`);
  const first = ssr(['campaign', 'start', '--config', cfg, '--id', id]);
  // Kill the process (its in-process workers with it) once the first step has finished.
  const deadline = Date.now() + 300_000;
  let stepsBefore = 0;
  while (Date.now() < deadline) {
    try {
      const st = await env.client.workflow.getHandle(id).query(statusQuery);
      if (st.metrics.length >= 1) { stepsBefore = st.metrics.length; break; }
    } catch { /* not started yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(stepsBefore >= 1, `a step finished before the kill: ${first.out.slice(-2000)}`);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const second = ssr(['campaign', 'resume', id]);
  const code = await new Promise<number | null>((r) => second.once('exit', r));
  assert.equal(code, 0, second.out.slice(-3000));
  assert.match(second.out, /campaign finished/);
  const metrics = await listStepMetrics(env.runtime.store, id);
  assert.deepEqual(metrics.map((m) => m.step), [0, 1, 2], 'each step recorded once');
  const eps = await listEpisodes(env.runtime.store, id);
  assert.deepEqual(eps.map((e) => e.id), [`${id}/0/0`, `${id}/1/0`, `${id}/2/0`]);
  const final = await env.client.workflow.getHandle(id).result();
  assert.equal(final.step, 3);
  assert.equal(final.policyVersion, `${id}@3`);
});
