/**
 * Code locations a failing test run points at: the frames of tracebacks and stack traces, and the `file:line` of
 * compiler and runtime errors, as test logs print them in every language we run (Python's `File "x.py", line 12`,
 * `at f (src/x.js:12:5)`, Go's `x.go:12:`, Rust's and Java's `x.rs:12:5` / `(X.java:12)`, javac's through Maven
 * `src/X.java:[12,5]`). A repair near a line the
 * failing run went through is likelier than one elsewhere in an equally suspicious function; the solver gives the
 * policy that distance as a feature and lets training decide what it is worth.
 */
const FRAME = /File "([^"\n]+)", line (\d+)|([\w.@+\-/\\]+\.(?:py|js|mjs|cjs|jsx|ts|mts|cts|tsx|go|rs|java|kt|rb|c|cc|cpp|h|hpp)):\[?(\d+)/g;

/** Lines of each code file (repository-relative, as `codeFiles` names them) that the log mentions. */
export function tracedLines(log: string, codeFiles: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  // Logs name files by absolute sandbox paths, by paths relative to the test's directory, or as given: match the
  // longest code file whose path is a suffix at a path boundary.
  const bySuffix = [...codeFiles].sort((a, b) => b.length - a.length);
  for (const m of log.matchAll(FRAME)) {
    const named = (m[1] ?? m[3]).replace(/\\/g, '/');
    const line = Number(m[2] ?? m[4]);
    if (!Number.isInteger(line) || line < 1) continue;
    const file = bySuffix.find((f) => named === f || named.endsWith(`/${f}`)) ?? bareMatch(named, codeFiles);
    if (!file) continue;
    const ls = out.get(file) ?? out.set(file, []).get(file)!;
    if (!ls.includes(line)) ls.push(line);
  }
  return out;
}

/** A bare file name (Java's `(B.java:30)`) counts only when exactly one code file has it. */
function bareMatch(named: string, codeFiles: string[]): string | undefined {
  if (named.includes('/')) return undefined;
  const hits = codeFiles.filter((f) => f.endsWith(`/${named}`));
  return hits.length === 1 ? hits[0] : undefined;
}

/** Lines from `line` to the nearest traced line of the same file; Infinity when the run never went through it. */
export function traceDistance(traced: Map<string, number[]>, file: string, line: number): number {
  let d = Infinity;
  for (const l of traced.get(file) ?? []) d = Math.min(d, Math.abs(l - line));
  return d;
}
