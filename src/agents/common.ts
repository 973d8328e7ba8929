import { shQuote } from '../sandbox/shell.js';
import type { Runner } from '../repo/runners/index.js';
import type { Sandbox, SandboxProvider } from '../sandbox/types.js';
import { runTestScript, type TestResults, type TestRun } from '../repo/testrun.js';

/** The file part of a test id (`<file>::<name>`). */
export const testFileOf = (id: string): string => id.split('::')[0];

/** The test's own name as a parser of test definitions knows it: no file, no parameters, no subtests. */
export function testNameOf(id: string): string {
  const name = id.split('::').slice(1).join('::');
  return name.replace(/\[.*\]$/, '').replace(/^(Test\w+)\/.*$/, '$1');
}

export function byFile(results: TestResults): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const id of Object.keys(results)) {
    const f = testFileOf(id);
    (m.get(f) ?? m.set(f, []).get(f)!).push(id);
  }
  return m;
}

/** Runs a runner's script for some test files in a sandbox; counts the time spent in test runs. */
export class TestRunCounter {
  runs = 0;
  ms = 0;
  constructor(private readonly timeoutMs: number) {}
  async run(sb: Sandbox, runner: Runner, files: string[]): Promise<TestRun> {
    const r = await runTestScript(sb, runner.script(files), runner.parser(), this.timeoutMs);
    this.runs++;
    this.ms += r.durationMs;
    return r;
  }
}

/** A fresh sandbox over a base tree with some files replaced (null content deletes the file). */
export async function sandboxWith(provider: SandboxProvider, from: Parameters<SandboxProvider['create']>[0], files: Map<string, string | null>): Promise<Sandbox> {
  const sb = await provider.create(from);
  try {
    for (const [rel, text] of files) {
      if (text === null) await sb.exec(`rm -f -- ${shQuote(rel)}`);
      else await sb.writeFile(rel, text);
    }
    return sb;
  } catch (e) {
    await sb.dispose();
    throw e;
  }
}

export const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
