/**
 * The prompt templates are plain Markdown files under prompts/ with {{placeholders}}, so they can be read and
 * changed without touching code. A placeholder left unfilled is an error, never silent text sent to the model.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type InjectStrategy = 'direct' | 'removal' | 'history' | 'removal-history';
export const INJECT_STRATEGIES: readonly InjectStrategy[] = ['direct', 'removal', 'history', 'removal-history'];

/** Where the injector writes its five files: inside the work directory (the sandbox writes nowhere else), git-ignored. */
export const ARTIFACT_DIR = '.ssr_artifact';

const cache = new Map<string, string>();

export function template(name: string): string {
  let t = cache.get(name);
  if (t === undefined) {
    t = readFileSync(fileURLToPath(new URL(`./prompts/${name}.md`, import.meta.url)), 'utf8');
    cache.set(name, t);
  }
  return t;
}

export function fill(text: string, values: Record<string, string | number>): string {
  // Checked on the template, not on the result: a filled-in value (a task diff) may itself contain braces.
  const missing = [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).filter((k) => !(k in values));
  if (missing.length) throw new Error(`prompt placeholder {{${missing[0]}}} has no value`);
  return text.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => String(values[k]));
}

export interface InjectorLimits { minPassingTests: number; minChangedFiles: number; minFailingTests: number }

export function systemPrompt(workdir: string): string {
  return fill(template('system'), { workdir });
}

/**
 * The injector's task. For removal-history the caller has drawn which of the two this bug uses (`assigned`),
 * as the method does per injection.
 */
export function injectorPrompt(strategy: InjectStrategy, limits: InjectorLimits, assigned?: 'removal' | 'history'): string {
  const vals = { min_passing_tests: limits.minPassingTests, min_changed_files: limits.minChangedFiles, min_failing_tests: limits.minFailingTests, artifact_dir: ARTIFACT_DIR };
  let strategyText: string;
  if (strategy === 'removal-history') {
    if (!assigned) throw new Error('removal-history needs the drawn strategy (removal or history)');
    strategyText = fill(template('strategy-removal-history'), { assigned: fill(template(`strategy-${assigned}`), vals).trim() });
  } else {
    strategyText = fill(template(`strategy-${strategy}`), vals);
  }
  return fill(template('injector'), { ...vals, strategy: strategyText.trim() });
}

/** The solver's message: the method's fixed task statement (reverse of test_weaken.diff) plus how to work. */
export function solverPrompt(task: string, workdir: string): string {
  return fill(template('solver'), { task, workdir });
}
