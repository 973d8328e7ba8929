import type { Sandbox, KillReason } from '../sandbox/types.js';

export type TestStatus = 'passed' | 'failed';
export type TestResults = Record<string, TestStatus>;

/** One run of `bash test_script.sh > log 2>&1` followed by `python3 test_parser.py < log`, both in the sandbox. */
export interface TestRun {
  results: TestResults;
  /** Null when the parser printed a JSON mapping of test ids to passed/failed; otherwise why not. */
  parserError: string | null;
  /** The parser exited 0 and printed nothing at all (a kind of parserError). */
  parserSilent?: boolean;
  exitCode: number | null;
  killed: KillReason | null;
  log: string;
  parserStdout: string;
  durationMs: number;
  /** CPU time of the test script's processes, where the sandbox measures it (the parser's not included). */
  cpuMs?: number;
}

export class PatchApplyError extends Error {
  constructor(readonly what: string, readonly detail: string) {
    super(`${what} does not apply: ${detail.trim().split('\n').slice(0, 5).join(' | ')}`);
    this.name = 'PatchApplyError';
  }
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * The interpreter of the parser, a stdlib-only script: the system's own where there is one. A `python3` on the PATH
 * can be a version manager's shim (pyenv's is a bash script that resolves the version on every call), which cost
 * 0.2 s of every test run here, a quarter of a small suite's run.
 */
const PARSER_PYTHON = '"$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else echo python3; fi)"';

/**
 * The script and parser are written to the sandbox's private /tmp in the same command that runs them,
 * so they never appear in the repository tree (and so never in a diff).
 */
export async function runTestScript(sb: Sandbox, testScript: string, testParser: string, timeoutMs: number, cpuTimeoutMs?: number): Promise<TestRun> {
  const t0 = Date.now();
  const run = await sb.exec(
    `mkdir -p /tmp/ssr && echo '${b64(testScript)}' | base64 -d > /tmp/ssr/test_script.sh && bash /tmp/ssr/test_script.sh 2>&1`,
    { timeoutMs, ...(cpuTimeoutMs !== undefined ? { cpuTimeoutMs } : {}) },
  );
  const log = run.stdout + (run.stderr ? `\n${run.stderr}` : '');
  const parsed = await sb.exec(
    `mkdir -p /tmp/ssr && echo '${b64(testParser)}' | base64 -d > /tmp/ssr/test_parser.py && ${PARSER_PYTHON} /tmp/ssr/test_parser.py`,
    { timeoutMs: 60_000, stdin: log },
  );
  let results: TestResults = {};
  let parserError: string | null = null;
  let parserSilent = false;
  if (parsed.killed) parserError = `parser stopped by the sandbox (${parsed.killed})`;
  else if (parsed.exitCode !== 0) parserError = `parser exited ${parsed.exitCode}: ${parsed.stderr.trim().slice(-400)}`;
  else if (parsed.stdout.trim() === '') {
    parserSilent = true;
    parserError = 'the parser printed nothing (a JSON mapping of test ids to "passed"/"failed" was expected on stdout)';
  } else {
    try {
      results = validateResults(JSON.parse(parsed.stdout));
    } catch (e) {
      parserError = `parser output is not a JSON mapping of test ids to "passed"/"failed": ${(e as Error).message}`;
    }
  }
  return {
    results, parserError, ...(parserSilent ? { parserSilent } : {}), exitCode: run.exitCode, killed: run.killed, log,
    parserStdout: parsed.stdout.slice(0, 100_000), durationMs: Date.now() - t0, ...(run.cpuMs !== undefined ? { cpuMs: run.cpuMs } : {}),
  };
}

function validateResults(v: unknown): TestResults {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
  const out: TestResults = {};
  for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
    if (s !== 'passed' && s !== 'failed') throw new Error(`test ${JSON.stringify(k)} has status ${JSON.stringify(s)}`);
    out[k] = s;
  }
  return out;
}

/** Applies a git diff inside the sandbox; a diff that does not apply is a typed error carrying git's words. */
export async function applyDiff(sb: Sandbox, diff: string, what: string): Promise<void> {
  if (!diff.trim()) return;
  const r = await sb.exec('git apply --whitespace=nowarn --unidiff-zero -', { stdin: diff, timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new PatchApplyError(what, r.stderr || r.stdout || `exit ${r.exitCode}`);
}

export function passed(r: TestResults): string[] {
  return Object.keys(r).filter((k) => r[k] === 'passed').sort();
}

export function failed(r: TestResults): string[] {
  return Object.keys(r).filter((k) => r[k] === 'failed').sort();
}
