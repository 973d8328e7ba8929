/**
 * The LLM injector: one agent episode in a sandbox over the naked repository (with its history), ending in the
 * five artifact files the model wrote under ARTIFACT_DIR in the work directory. They are collected into an Artifact
 * and the directory removed; whether the artifact is any good is for the consistency checks to say, not for us.
 */
import { ARTIFACT_FILES, parseTestFiles, type Artifact } from '../../artifact/artifact.js';
import type { Sandbox } from '../../sandbox/types.js';
import type { ChatModel } from './client.js';
import type { LlmPolicyConfig } from './config.js';
import { runLoop, type Checkpoint, type LoopOptions, type LoopResult } from './loop.js';
import { ARTIFACT_DIR, injectorPrompt, systemPrompt, type InjectorLimits, type InjectStrategy } from './prompts.js';

export interface LlmInjectOptions {
  sandbox: Sandbox;
  client: ChatModel;
  cfg: LlmPolicyConfig;
  strategy: InjectStrategy;
  limits?: InjectorLimits;
  /** Draws removal or history for removal-history (default Math.random); the draw is in the prompt, so a resume keeps it. */
  random?: () => number;
  resume?: Checkpoint;
  onTurn?: LoopOptions['onTurn'];
  onWait?: LoopOptions['onWait'];
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * model-error is infrastructure (the activity retries it from the checkpoint); the others are the policy's
 * doing and become the episode's outcome (inject-failed:<code>).
 */
export type LlmInjectFailure = 'artifact-missing' | 'not-submitted' | 'model-error';

export type LlmInjectResult =
  | { ok: true; artifact: Artifact; strategy: InjectStrategy; assigned: 'removal' | 'history' | null; loop: LoopResult }
  | { ok: false; code: LlmInjectFailure; reason: string; strategy: InjectStrategy; assigned: 'removal' | 'history' | null; loop: LoopResult };

export const DEFAULT_INJECTOR_LIMITS: InjectorLimits = { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 };

/** Makes the artifact directory and keeps it out of git status and `git add -A` (idempotent: runs again on resume). */
const PREPARE = `mkdir -p ${ARTIFACT_DIR} && if [ -d .git ]; then mkdir -p .git/info && { grep -qxF '${ARTIFACT_DIR}/' .git/info/exclude 2>/dev/null || echo '${ARTIFACT_DIR}/' >> .git/info/exclude; }; fi`;

export async function llmInject(o: LlmInjectOptions): Promise<LlmInjectResult> {
  const sb = o.sandbox;
  const prep = await sb.exec(PREPARE, { timeoutMs: 30_000 });
  if (prep.exitCode !== 0) throw new Error(`could not prepare ${ARTIFACT_DIR} in the sandbox: ${prep.stderr.trim()}`);
  const assigned: 'removal' | 'history' | null = o.strategy === 'removal-history' ? ((o.random ?? Math.random)() < 0.5 ? 'removal' : 'history') : null;
  const loop = await runLoop({
    model: o.client, sandbox: sb, cfg: o.cfg,
    system: systemPrompt(sb.workdir), task: injectorPrompt(o.strategy, o.limits ?? DEFAULT_INJECTOR_LIMITS, assigned ?? undefined),
    resume: o.resume, onTurn: o.onTurn, onWait: o.onWait, signal: o.signal, log: o.log,
  });
  const base = { strategy: o.strategy, assigned, loop };
  if (loop.stop === 'model-error') return { ok: false, code: 'model-error', reason: loop.reason, ...base };
  if (loop.stop !== 'submit') return { ok: false, code: 'not-submitted', reason: `the injector stopped with ${loop.stop} before submitting: ${loop.reason}`, ...base };

  const files = new Map<string, string>();
  const problems: string[] = [];
  for (const f of ARTIFACT_FILES) {
    try {
      files.set(f, (await sb.readFile(`${ARTIFACT_DIR}/${f}`)).toString('utf8'));
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message}`);
    }
  }
  // The directory must not stay in the tree: later diffs of this sandbox (or a snapshot of it) would carry it.
  await sb.exec(`rm -rf ${ARTIFACT_DIR}`, { timeoutMs: 30_000 });
  if (problems.length) {
    return { ok: false, code: 'artifact-missing', reason: `the artifact in ${ARTIFACT_DIR}/ is incomplete (${problems.join('; ')})`, ...base };
  }
  const artifact: Artifact = {
    bugInject: files.get('bug_inject.diff')!,
    testWeaken: files.get('test_weaken.diff')!,
    testScript: files.get('test_script.sh')!,
    testParser: files.get('test_parser.py')!,
    testFiles: parseTestFiles(files.get('test_files.txt')!),
  };
  return { ok: true, artifact, ...base };
}
