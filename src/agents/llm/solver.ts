/**
 * The LLM solver: one agent episode in a sandbox over the solver state (buggy tree, one fresh commit, no history),
 * with the method's task statement as its whole task. Its patch is the work tree against that commit.
 */
import type { Sandbox } from '../../sandbox/types.js';
import type { ChatModel } from './client.js';
import type { LlmPolicyConfig } from './config.js';
import { runLoop, type Checkpoint, type LoopOptions, type LoopResult, type StopReason } from './loop.js';
import { ARTIFACT_DIR, solverPrompt, systemPrompt } from './prompts.js';

export interface LlmSolveOptions {
  sandbox: Sandbox;
  client: ChatModel;
  cfg: LlmPolicyConfig;
  /** The task statement (agents/solver.ts taskStatement around the reversed test_weaken.diff). */
  task: string;
  resume?: Checkpoint;
  onTurn?: LoopOptions['onTurn'];
  onWait?: LoopOptions['onWait'];
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface LlmSolveResult { patch: string; stop: StopReason; reason: string; loop: LoopResult }

/**
 * Build and test by-products a solver leaves behind while running tests; they are never part of a fix and some are
 * binary (git apply would choke on them). Whatever the repository's .gitignore lists is left out as well.
 */
export const PATCH_EXCLUDES = [
  `:(exclude)${ARTIFACT_DIR}`,
  ':(exclude,glob)**/__pycache__/**', ':(exclude,glob)**/*.pyc', ':(exclude,glob)**/.pytest_cache/**',
  ':(exclude,glob)**/node_modules/**', ':(exclude,glob)**/*.orig', ':(exclude,glob)**/*.rej',
];

/** `git diff` of the work tree against the commit, new files included (intent-to-add makes them show). */
export async function workTreePatch(sb: Sandbox): Promise<string> {
  const spec = ['.', ...PATCH_EXCLUDES].map((p) => `'${p}'`).join(' ');
  const r = await sb.exec(`git add -A -N -- ${spec} && git -c core.quotepath=off diff --no-color --no-ext-diff --no-renames -- ${spec}`, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`could not diff the solver's work tree: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function llmSolve(o: LlmSolveOptions): Promise<LlmSolveResult> {
  const loop = await runLoop({
    model: o.client, sandbox: o.sandbox, cfg: o.cfg,
    system: systemPrompt(o.sandbox.workdir), task: solverPrompt(o.task, o.sandbox.workdir),
    resume: o.resume, onTurn: o.onTurn, onWait: o.onWait, signal: o.signal, log: o.log,
  });
  // A patch is taken whatever the stop: an unsubmitted attempt is still graded (and may seed a higher-order bug).
  return { patch: await workTreePatch(o.sandbox), stop: loop.stop, reason: loop.reason, loop };
}
