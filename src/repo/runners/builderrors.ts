import type { RunnerName } from './types.js';

/** One compile error a run's log reports: the file of `files` it is in, its line, and the compiler's message. */
export interface BuildError { file: string; line: number; message: string }

/**
 * The compile errors a run reports in the given files. Go and Rust build a package's (a target's) tests as one
 * program, so a test file that no longer compiles (a test still using what a bug removed: a struct field, a function)
 * takes every test of its package down with it, none of them reporting, and code that no longer compiles takes down
 * every package that imports it: the weakening, which works from the results, has nothing to go on there, and these
 * say why. Maven builds a module the same way (javac's errors). Other runners: none (their files load one by one, or
 * their errors name no file line reliably).
 */
export function buildErrors(runner: RunnerName, log: string, files: readonly string[]): BuildError[] {
  const out: BuildError[] = [];
  const add = (reported: string, line: number, message: string): void => {
    const file = resolve(reported, files);
    if (file !== null) out.push({ file, line, message });
  };
  const lines = log.split('\n');
  if (runner === 'go-test') {
    // `./json_test.go:397:37: unknown field X in struct literal`, at the start of the line, relative to the module:
    // a failing test's own output (`    x_test.go:30: want 1`) is indented and has no column.
    for (const l of lines) {
      const m = /^(?:\.\/)?(\S+?\.go):(\d+):\d+: (.*)$/.exec(l);
      if (m) add(m[1]!, Number(m[2]), m[3]!);
    }
  } else if (runner === 'maven') {
    // javac under the compiler plugin: `[ERROR] src/test/java/x/FooTest.java:[12,5] cannot find symbol` (the script
    // strips the build copy's directory; an absolute path stays one), repeated in Maven's summary of the failed goal.
    // A module whose main code does not compile is not tested, nor are the modules that depend on it; one whose test
    // code does not compile runs none of its tests: the whole module, like a Go package. Warnings look alike.
    for (const l of lines) {
      const m = /^\[ERROR\] (\S+?\.java):\[(\d+)(?:,\d+)?\] (.*)$/.exec(l);
      if (m) add(m[1]!, Number(m[2]), m[3]!);
    }
  } else if (runner === 'cargo-test') {
    // rustc's `error[E0425]: ...` then ` --> tests/x.rs:5:5`; a warning's location looks the same, and a panic's
    // (`panicked at tests/x.rs:5:5:`) has no arrow.
    let error: string | null = null;
    for (const l of lines) {
      if (/^error(?:\[\w+\])?: /.test(l)) error = /^error: (?:could not compile|aborting)/.test(l) ? null : l;
      else if (/^(?:warning|note|help)(?:\[[\w:]+\])?: /.test(l)) error = null;
      const m = /^\s*--> (\S+?\.rs):(\d+):\d+/.exec(l);
      if (m && error !== null) add(m[1]!, Number(m[2]), error);
    }
  }
  return out;
}

/** buildErrors' lines, per file. */
export function buildErrorLines(runner: RunnerName, log: string, files: readonly string[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const e of buildErrors(runner, log, files)) (out.get(e.file) ?? out.set(e.file, new Set()).get(e.file)!).add(e.line);
  return out;
}

/** The one file of `files` that a path as the tool printed it (relative to some directory above it) names. */
function resolve(reported: string, files: readonly string[]): string | null {
  const p = reported.replace(/^(?:\.\/)+/, '');
  if (files.includes(p)) return p;
  const hits = files.filter((f) => f.endsWith(`/${p}`));
  if (hits.length === 1) return hits[0]!;
  // An absolute path (a build elsewhere: a copy of the tree) ends with the file's path in the tree; the longest wins.
  if (!p.startsWith('/')) return null;
  const inside = files.filter((f) => p.endsWith(`/${f}`)).sort((a, b) => b.length - a.length);
  return inside.length > 0 && inside[0]!.length > (inside[1]?.length ?? 0) ? inside[0]! : null;
}
