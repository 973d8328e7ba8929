/** What `ssr campaign start` and `resume` say when a repository is not there: the cause itself, not "Workflow execution failed". */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';

let env: TestEnv;
before(async () => { env = await startTestEnv(); });
after(async () => { await env?.stop(); });

function ssr(args: string[]): Promise<{ code: number | null; out: string }> {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (d) => { out += d; });
  c.stderr.on('data', (d) => { out += d; });
  return new Promise((r) => c.once('exit', (code) => r({ code, out })));
}

test('a --repo that does not exist is refused before any campaign starts', async () => {
  const missing = path.join(env.home, 'no-such-repo');
  const r = await ssr(['campaign', 'start', '--repo', missing, '--id', 't-missing', '--steps', '1']);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`ssr: RepoError: repository ${missing} does not exist or is not a directory`));
  await assert.rejects(env.client.workflow.getHandle('t-missing').describe(), WorkflowNotFoundError);
});

test('a campaign that fails says the innermost cause, the activity it failed in, and where the evidence is', async () => {
  const repo = path.join(env.home, 'vanishing');
  mkdirSync(repo, { recursive: true });
  writeFileSync(path.join(repo, 'a.py'), 'x = 1\n');
  execFileSync('git', ['init', '-q', repo]);
  // Started with --detach (the workers would run elsewhere), the repository gone before any worker ran a step.
  const started = await ssr(['campaign', 'start', '--repo', repo, '--id', 't-gone', '--steps', '1', '--detach']);
  assert.equal(started.code, 0, started.out);
  rmSync(repo, { recursive: true, force: true });
  const r = await ssr(['campaign', 'resume', 't-gone']);
  assert.equal(r.code, 1, r.out);
  const last = r.out.trim().split('\n').at(-1)!;
  assert.match(last, /^ssr: CampaignFailedError: campaign t-gone failed in activity prepareRepo: RepoError: repository .*vanishing does not exist or is not a directory/);
  assert.match(last, /npx ssr episodes list --campaign t-gone/);
  // Its status says the same cause; a signal to it says it has ended.
  const st = await ssr(['campaign', 'status', 't-gone']);
  assert.match(st.out, /t-gone: FAILED: campaign t-gone failed in activity prepareRepo: RepoError: repository .*vanishing does not exist/);
  const stop = await ssr(['campaign', 'stop', 't-gone']);
  assert.equal(stop.code, 1, stop.out);
  assert.match(stop.out, /ssr: CampaignEndedError: campaign t-gone has ended \(FAILED\): there is nothing to stop/);
});

test('status or a signal for a campaign id Temporal does not know says so and where the ids are', async () => {
  for (const args of [['campaign', 'status', 't-nope'], ['campaign', 'pause', 't-nope']]) {
    const r = await ssr(args);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /ssr: CampaignNotFoundError: no campaign 't-nope' on this Temporal server \(namespace default\): `npx ssr campaign list`/);
  }
});
