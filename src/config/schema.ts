import { z } from 'zod';
import { llmPolicySchema } from '../agents/llm/config.js';
import { INJECT_STRATEGIES } from '../agents/llm/prompts.js';

/** A repository on disk whose dependencies are installed. */
export const LocalRepoSpec = z.object({
  path: z.string().describe('Directory of the repository (a git work tree is best: history-aware injection needs it)'),
  name: z.string().optional().describe('Short name used in episode ids and listings (default: the directory name)'),
}).strict();

/** A Docker image holding a repository and its installed dependencies: the method's own input. */
export const ImageRepoSpec = z.object({
  image: z.string().min(1).describe('Image in the local Docker engine, e.g. myorg/proj:sha (no registry is pulled from)'),
  workdir: z.string().startsWith('/').optional().describe('Repository directory inside the image (default: the git top-level, else the largest source tree)'),
  name: z.string().optional().describe('Short name used in episode ids and listings (default: the image name without registry and tag)'),
}).strict();

export const RepoSpec = z.union([LocalRepoSpec, ImageRepoSpec]);
export type LocalRepoSpec = z.infer<typeof LocalRepoSpec>;
export type ImageRepoSpec = z.infer<typeof ImageRepoSpec>;
export type RepoSpec = z.infer<typeof RepoSpec>;

export const isImageRepo = (r: RepoSpec): r is ImageRepoSpec => 'image' in r;

export const Strategy = z.enum(['direct', 'removal', 'history']);
export type Strategy = z.infer<typeof Strategy>;

/** Every field has a default so that `{ repos: [...] }` is a whole config. Descriptions feed `ssr config describe` and the README. */
export const CampaignConfig = z.object({
  repos: z.array(RepoSpec).min(1).describe('Repositories the campaign plays in'),
  steps: z.number().int().min(1).default(3).describe('Training steps (each: rollouts, then one gradient step)'),
  rounds: z.number().int().min(1).default(3).describe('Self-play rounds (episodes) per step'),
  solves: z.number().int().min(1).default(4).describe('Solver attempts per bug (G in the paper: 8)'),
  maxParallelRounds: z.number().int().min(1).default(3).describe('Round workflows running at once'),
  strategies: z.array(Strategy).min(1).default(['removal', 'history', 'direct']).describe('Injection strategies the injector may pick from (removal + history is the paper\'s best)'),
  alpha: z.number().min(0).default(0.8).describe('Injector reward penalty for s = 0 or s = 1 (paper: 0.8)'),
  minPassingTests: z.number().int().min(1).default(5).describe('Check 3: tests that must pass on the original'),
  minChangedFiles: z.number().int().min(1).default(1).describe('Check 4: code files the bug must change'),
  minFailingTests: z.number().int().min(1).default(1).describe('Check 5: tests the bug must break'),
  testTimeoutSec: z.number().int().min(5).default(90).describe('Time limit of one test_script.sh run'),
  solverTestRuns: z.number().int().min(1).default(16).describe('Budget of test runs per solver attempt'),
  solverProbeTimeout: z.object({
    factor: z.number().min(1).default(5).describe("A repair probe's limit as a multiple of the attempt's first run (the buggy state)"),
    minSec: z.number().int().min(1).default(3).describe('The least a probe may run, whatever the first run took'),
    referenceFactor: z.number().min(1).default(2).describe("The limit of an attempt's first run, and of every probe where the first run itself did not end (the buggy state hangs), as a multiple of the original code's run in the checks: the original is a fixed state, so a repair runs about as long, and the margin is only for load"),
    firstMinSec: z.number().int().min(1).default(10).describe("The least an attempt's first run may run (the probes keep minSec) where the repository's bug states have no calibrated hang limit yet (bugStateCpuLimit limits it where they have, by CPU time): a first run stopped by its limit is taken for a buggy state that hangs, which gets no coverage run and so other repair options. On 2 loaded cores a Go suite that ends in about a second idle was stopped at minSec's 3 s and its attempts searched other options (session 27); a state that really hangs costs this once per attempt"),
    cpu: z.boolean().default(true).describe("Where the sandbox measures CPU time (the local one with cgroups; Docker with a local engine), limit the probes by it: factor times the first run's CPU time (at least minSec), which the machine's load does not move, so what a search finds does not depend on what runs beside it. Their wall-clock limit is then wallSlack times the one they would have had, for a probe that waits without using CPU (a deadlock). Elsewhere, or false: wall-clock limits only"),
    wallSlack: z.number().min(1).default(3).describe('With CPU-time limits on the probes, their wall-clock limit as a multiple of the one they would have had without'),
  }).default({}).describe("A solver's probes of candidate repairs stop long before testTimeoutSec: an edit that makes the suite hang (a loop that never ends) would otherwise cost the whole limit, every time the search tries it. Never above testTimeoutSec"),
  bugStateCpuLimit: z.object({
    factor: z.number().min(0).default(10).describe('A multiple of the most CPU time a run of a bug state that ended on the repository used; 0: no such limit'),
    minSec: z.number().int().min(1).default(10).describe('The least CPU time such a run may use'),
  }).default({}).describe("Runs of a candidate bug's states (the injector's runs of its candidates and weakenings; the checks' runs of the bug, the weakened tests and each reverted file; a solver attempt's first run, with solverProbeTimeout.cpu) stop once their processes have used this much CPU time, where the sandbox measures it (the local one; Docker with a local engine): a bug that makes the suite hang (a loop that never ends) then costs seconds, not testTimeoutSec, at each of those runs (on a Go example, one such bug cost its episode 181 s of checks alone). Calibrated on the runs of bug states that ended on the repository in this worker (a changed file is built again, which the original's run over warm caches does not show): none until one has. A run stopped so counts its unfinished tests as broken, as one stopped by testTimeoutSec does. CPU time, unlike the wall clock, does not grow with the machine's load"),
  solverRerank: z.boolean().default(true).describe("After an edit that fixes some failing tests is kept, the embedded solver scores the options left again for the tests still failing (their functions' suspicion), and offers again the options it dropped since the last kept edit, instead of keeping the first order and dropping each option for good: a bug of several changes is repaired one change at a time, what the fixed tests pointed at is done, and an edit that fixed nothing alone may complete the repair on the new tree"),
  bugStateRunCache: z.boolean().default(false).describe("Let a worker reuse the test runs of a bug's states (the injector's runs of a candidate and of its weakening, the checks' runs of the bug, the weakened tests and each reverted file) for a tree state it has run before under the same test script, in this process, and share a run in progress (src/repo/stateRuns.ts). A run stopped by a time limit answers only under a limit no longer than the one it ran out; one that ended, only where it ended within the new limits. Only for deterministic suites. The learning bench turns it on: the three modes of a seed inject and check the same bugs until their policies differ (47 of its 81 episodes in session 29)"),
  solverRunCache: z.boolean().default(false).describe("Let a worker reuse a solver's test results for a tree state it has tested before (a timed-out run only under a limit no longer than the one it ran out), a start state's repair options, and the grade of a patch it has graded before for the same bug (only for deterministic suites; each reuse still counts against solverTestRuns). The eval and the learning bench turn it on"),
  injectorCandidates: z.number().int().min(1).default(6).describe('Bug candidates the injector may try before giving up'),
  excludeBugs: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 of a bug_inject.diff (a held-out set\'s bugHash)')).default([]).describe("Bugs the injector must never produce, as sha256 of their bug_inject.diff: a held-out set's bugHash values, so training never sees the bugs an evaluation measures"),
  higherOrder: z.object({
    enabled: z.boolean().default(true).describe('Turn failed solver attempts into higher-order bugs'),
    perRound: z.number().int().min(0).default(1).describe('Failed attempts per round turned into higher-order candidates'),
    maxOrder: z.number().int().min(1).default(2).describe('Highest order of a composed bug (paper: 2)'),
    drawFraction: z.number().min(0).max(1).default(0.25).describe('Fraction of rounds that draw a pooled higher-order bug instead of injecting'),
    recheck: z.boolean().default(true).describe('Re-run the consistency checks on a composed bug before pooling it'),
  }).default({}),
  learningRate: z.number().positive().default(0.5).describe('Step size of the policy-gradient update'),
  solverGradient: z.object({
    expectedSamples: z.number().int().min(0).default(128).describe("Simulated attempts per bug with a known fix for the solver's expected gradient (src/trainer/expected.ts): its group's reward over many orders of its options, known from the edits its solved attempts kept and the options that restore the original, instead of the few its attempts sampled; 0: the sampled attempts only"),
    replayBugs: z.number().int().min(0).default(24).describe('Bugs learned in earlier steps of the campaign that each step trains on again under the expected gradient (newest first)'),
    iterations: z.number().int().min(1).default(10).describe("Steps over the known bugs after a training step's own (the sampled trajectories of both roles): each simulates fresh attempts at the weights the one before left, so none trains on stale samples. Replaying the learning bench's campaigns' known bugs offline (P(fix tried in 6) on the held-out set, from 0.151): 1 step of the whole network 0.245, 10 steps of the numeric weights 0.415-0.454"),
    learningRate: z.number().positive().default(16).describe("Step size of the known-bug steps, apart from the campaign.s learningRate: the numeric weights' gradient is small, as most options' sharpened features are near 0"),
    trains: z.enum(['numeric', 'all']).default('numeric').describe("Which weights the known-bug steps train: 'numeric', the solver's weights on its options' numeric features (what transfers across bugs; src/trainer/step.ts); 'all', the whole network, which also fits the few known bugs by what their fixes are (4 such steps took held-out P(fix tried) to 0.13 from 0.35 in a real campaign)"),
    picks: z.number().int().min(1).default(6).describe("Picks of a simulated attempt of a known bug, at most (its real attempts' own budget where that is smaller): 6 is what the held-out evaluation's 8 test runs leave. A fix is worth most where a short search reaches it; simulated over a training attempt's whole budget (14 picks), the bugs whose fixes rank in the hundreds pull the numeric weights toward whatever sets those fixes apart. Six self-play campaigns replayed (npm run bench:replay): held-out P(fix tried in 6) 0.402 over 14 picks, 0.451 over 6, 0.465 over 4"),
    fixes: z.enum(['whole', 'per-line']).default('per-line').describe("How options that restore the code a bug changed are known fixes (src/trainer/expected.ts): 'whole', a fix restores every changed line; 'per-line', each changed line is a known bug of its own"),
  }).default({}).describe('How the embedded solver is trained'),
  injectorGradient: z.object({
    reward: z.enum(['expected', 'sampled']).default('expected').describe("The injector's reward in the gradient step (src/trainer/injectorReward.ts): 'sampled', the method's, from its bug's solve rate over the `solves` attempts; 'expected', that reward's expectation over `solves` attempts at the chance of one attempt solving, simulated where the bug's fixes are known (a bug with none keeps the sampled one). With 4 attempts and a weak solver nearly every solve rate is 0 or 1, every valid injection of a step gets -alpha and the injector has no gradient. The episode's record keeps the sampled reward; the step's train/<campaign>/<step>.json lists both"),
    samples: z.number().int().min(1).default(256).describe("Simulated attempts per bug for the expected reward"),
    trains: z.enum(['own', 'all']).default('own').describe("Which weights the injector's trajectories train (src/trainer/step.ts, injectorOwnMask): 'own', those of the inputs a solver's option never sets, so the injector's advantage leaves the solver's ranking of repairs alone (the roles still share one network), in a step of their own, each role's step the mean over its own trajectories; 'all', the whole network, as one joint step of both roles"),
    learningRate: z.number().positive().optional().describe("Step size of the injector's own step (with trains 'own'), apart from the campaign's learningRate, which it takes when unset. Its step is the mean over the step's injections and cannot move the solver's ranking"),
  }).default({}).describe("How the embedded injector is trained"),
  ablation: z.enum(['self-play', 'injection-only', 'repair-only']).default('self-play').describe("Which roles' trajectories train the policy: both (the method), only the injector's, or only the solver's (the paper's ablations)"),
  continueAsNewEvery: z.number().int().min(1).default(5).describe('Steps between continue-as-new of the campaign workflow'),
  heartbeatTimeoutSec: z.number().int().min(5).default(60).describe('A sandbox activity whose worker stops heartbeating this long is retried elsewhere'),
  gpuHeartbeatTimeoutSec: z.number().int().min(5).default(120).describe('A gradient step whose gpu worker stops heartbeating this long is retried on another gpu worker'),
  seed: z.number().int().default(1).describe("Seed of every random choice of the embedded agents, with each episode's step and round (src/episode/seed.ts): campaigns with one seed and config make the same choices until their policies differ, so give campaigns meant to draw independently different seeds"),
  policy: z.object({
    kind: z.enum(['embedded', 'llm']).default('embedded').describe("'embedded': the built-in ONNX network trained in-process; 'llm': a model behind an OpenAI-compatible endpoint, trained by an external trainer"),
    providers: z.array(z.string().min(1)).min(1).default(['cpu']).describe("onnxruntime execution providers for the embedded policy, tried in order (e.g. ['cuda', 'cpu'] where workers have a GPU); cpu is always the last resort"),
    llm: llmPolicySchema.default({}).describe('The model endpoint, its sampling and the limits of one agent episode (kind llm)'),
    strategies: z.array(z.enum(INJECT_STRATEGIES as unknown as [string, ...string[]])).min(1).default(['removal-history', 'removal', 'history', 'direct']).describe("Injection prompts the LLM injector draws from (kind llm; 'removal-history' is the paper's best)"),
    trainer: z.object({
      command: z.string().optional().describe('Trainer command ({batch} {out} {step} {from} {campaign} are replaced); its last stdout line names the checkpoint'),
      url: z.string().url().optional().describe('Or a trainer endpoint: POST {campaign, step, fromVersion, batchPath, outDir} → {checkpoint}'),
      timeoutSec: z.number().int().min(1).default(6 * 3600).describe('Time limit of one training call'),
    }).default({}).describe('The external trainer of an LLM policy (runs on ssr-gpu workers)'),
    load: z.object({
      command: z.string().optional().describe('Command that makes the inference server serve a checkpoint ({checkpoint} {name} are replaced)'),
      url: z.string().url().optional().describe("Or an endpoint like vLLM's /v1/load_lora_adapter: POST {lora_name, lora_path}"),
      timeoutSec: z.number().int().min(1).default(600).describe('Time limit of one load call'),
    }).optional().describe('How a new checkpoint is loaded into the inference server before the next step (omit when the trainer publishes it itself)'),
  }).default({}).superRefine((p, ctx) => {
    if (p.kind === 'llm' && !p.trainer.command && !p.trainer.url) ctx.addIssue({ code: 'custom', path: ['trainer'], message: 'an llm policy needs policy.trainer.command or policy.trainer.url' });
  }),
  sandbox: z.object({
    isolation: z.enum(['bwrap', 'none']).default('bwrap').describe("'none' only with --no-isolation: runs untrusted code unconfined"),
    // Unset: the worker's own limits (2048 MiB, 256 processes, 4096 KiB), which an operator may have set per machine.
    memoryMb: z.number().int().min(64).optional().describe("Memory limit of one sandboxed command (unset: the worker's, 2048)"),
    maxPids: z.number().int().min(8).optional().describe("Process limit of one sandboxed command (unset: the worker's, 256)"),
    maxOutputKb: z.number().int().min(16).optional().describe("Cap on stdout and on stderr of one command (unset: the worker's, 4096)"),
  }).default({}),
});
export type CampaignConfig = z.infer<typeof CampaignConfig>;
export type CampaignConfigInput = z.input<typeof CampaignConfig>;
