/**
 * `ssr eval --policy <version> [--set file] [--json]`: the held-out solve rate of a policy version.
 * `ssr eval build-set [--out file] [--repo path ...]`: builds a held-out set (once; it is meant to be kept).
 * Both run in this process on the local sandbox: an evaluation is a measurement, not part of a campaign.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { Runtime } from '../runtime.js';
import { PROJECT_ROOT } from '../temporal/config.js';
import { describeRepo } from '../repo/describe.js';
import { exampleRepos } from '../repo/examples.js';
import { Strategy } from '../config/schema.js';
import { buildHeldoutSet, readHeldoutSet, writeHeldoutSet } from '../eval/heldout.js';
import { evaluatePolicy, formatEval } from '../eval/evaluate.js';
import { UsageError } from './episodes.js';

/** The set committed with the project: validated bugs in the bundled example repositories. */
export const DEFAULT_SET = path.join(PROJECT_ROOT, 'examples', 'heldout.json');

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, not '${v}'`);
  return n;
};

export function addEvalCommand(program: Command, deps: { runtimeFor(o: { noIsolation?: boolean }): Runtime }): void {
  const ev = program.command('eval')
    .description('the held-out solve rate of a policy version, at the set\'s fixed search budget')
    .option('--policy <version>', 'the policy version to evaluate, <campaign>@<step>')
    .option('--set <file>', 'the held-out set', DEFAULT_SET)
    .option('--attempts <n>', 'solver attempts per bug (default: the set\'s)', int('--attempts'))
    .option('--budget <n>', 'test runs per attempt (default: the set\'s)', int('--budget'))
    .option('--concurrency <n>', 'bugs evaluated at once', int('--concurrency'), 2)
    .option('--no-cache', 'run every test again instead of reusing results of identical tree states')
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
    .action(async (o: { policy?: string; set: string; attempts?: number; budget?: number; concurrency: number; cache: boolean; json?: boolean; isolation?: boolean }) => {
      if (!o.policy) throw new UsageError('--policy <version> is required (e.g. my-campaign@3; version 0 of any campaign is the untrained policy)');
      const rt = deps.runtimeFor({ noIsolation: o.isolation === false });
      const file = path.resolve(o.set);
      const set = await readHeldoutSet(file);
      const r = await evaluatePolicy(rt, set, file, o.policy, { attempts: o.attempts, budget: o.budget, concurrency: o.concurrency, cache: o.cache },
        o.json ? () => {} : (m) => process.stderr.write(`  ${m}\n`));
      const out = { ...r, setFile: file };
      await rt.store.putJson(`evals/${o.policy.replace('@', '/')}/${set.name}-${r.attempts}x${r.budget}.json`, out);
      process.stdout.write(o.json ? JSON.stringify(out, null, 2) + '\n' : formatEval(r) + '\n');
    });

  ev.command('build-set')
    .description('inject and validate bugs with an untrained policy and store them as a held-out set')
    .option('--out <file>', 'where to write the set', DEFAULT_SET)
    .option('--repo <path...>', 'repositories to make bugs in (default: the bundled examples)')
    .option('--name <name>', 'the set\'s name', 'examples')
    .option('--per-repo <n>', 'valid bugs per repository', int('--per-repo'), 8)
    .option('--seed <seed>', 'seed of the injections (never a training campaign\'s)', 'heldout-1')
    .option('--strategies <list>', 'injection strategies, comma-separated', 'direct,removal,history')
    .option('--attempts <n>', 'the set\'s solver attempts per bug', int('--attempts'), 4)
    .option('--budget <n>', 'the set\'s test runs per attempt', int('--budget'), 8)
    .option('--force', 'overwrite an existing set')
    .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
    .action(async (o: { out: string; repo?: string[]; name: string; perRepo: number; seed: string; strategies: string; attempts: number; budget: number; force?: boolean; isolation?: boolean }) => {
      const file = path.resolve(o.out);
      if (existsSync(file) && !o.force) throw new UsageError(`${file} exists: a held-out set is built once and kept (--force replaces it, and every earlier figure with it)`);
      const strategies = o.strategies.split(',').map((s) => {
        const r = Strategy.safeParse(s.trim());
        if (!r.success) throw new UsageError(`unknown strategy '${s}' (one of ${Strategy.options.join(', ')})`);
        return r.data;
      });
      const targets = o.repo ? o.repo.map((d) => ({ path: d, name: undefined })) : exampleRepos();
      const repos = await Promise.all(targets.map((t) => describeRepo(t.path, t.name)));
      const rt = deps.runtimeFor({ noIsolation: o.isolation === false });
      const set = await buildHeldoutSet(rt, repos, { name: o.name, file, perRepo: o.perRepo, seed: o.seed, strategies, attempts: o.attempts, budget: o.budget },
        (m) => process.stderr.write(`  ${m}\n`));
      await writeHeldoutSet(file, set);
      process.stdout.write(`held-out set '${set.name}': ${set.bugs.length} validated bugs in ${set.repos.length} repositories -> ${file}\n`);
    });
}
