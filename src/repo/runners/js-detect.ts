/** Finds which JavaScript/TypeScript test runners a repository uses, from package.json files and test sources. */
import { jsParser, jsScript, type JsRunnerName, type NodeLaunch, type RunnerConfigs } from './js-runners.js';
import type { RepoTree } from './scan.js';
import { JS_EXT, TS_EXT, isJsTestCandidate, isTestFile } from './test-files.js';
import type { Runner } from './types.js';

interface PackageJson {
  dir: string;
  scripts: Record<string, string>;
  deps: Set<string>;
  keys: Set<string>;
}

// tape's test function is often imported under its own name: `const tape = require('tape'); tape('...', ...)`.
const HAS_TEST_CALLS = /\b(?:describe|it|test|suite|context|tape)(?:\.\w+)*\s*\(/;

/** The module a test file imports its test API from tells its runner; a file importing none suits any runner. */
const IMPORTS: Record<JsRunnerName, RegExp> = {
  'node-test': /['"]node:test['"]/,
  jest: /['"]@jest\/globals['"]/,
  vitest: /['"]vitest['"]/,
  mocha: /['"]mocha['"]/,
  ava: /['"]ava['"]/,
  tape: /['"]tape['"]/,
};

/** How each runner shows up in a package.json test script. */
const SCRIPT_WORDS: Record<JsRunnerName, RegExp> = {
  'node-test': /(?:^|[\s;&|(])(?:node|tsx)\s(?:[^;&|]*\s)?--test\b/,
  jest: /\bjest\b|\breact-scripts\s+test\b/,
  vitest: /\bvitest\b/,
  mocha: /\b_?mocha\b/,
  ava: /\bava\b/,
  // `tape test/*.js`, `nyc tape ...`, `tape ... | tap-spec`; not node-tap's `tap`.
  tape: /(?:^|[\s;&|(/])tape(?=\s|$)/,
};

const CONFIG_FILES: Record<JsRunnerName, RegExp> = {
  'node-test': /^$/,
  jest: /(?:^|\/)jest\.config\.[cm]?[jt]s(?:on)?$/,
  vitest: /(?:^|\/)vitest\.(?:config|workspace)\.[cm]?[jt]s$/,
  mocha: /(?:^|\/)\.mocharc\.(?:[cm]?js|json|jsonc|ya?ml)$/,
  ava: /(?:^|\/)ava\.config\.[cm]?js$/,
  tape: /^$/,
};

const ORDER: readonly JsRunnerName[] = ['vitest', 'jest', 'mocha', 'ava', 'tape', 'node-test'];

/** Jest and vitest only collect *.test.* / *.spec.* and __tests__ files unless configured otherwise. */
const DEFAULT_MATCH = /(?:^|\/)__tests__\/|\.(?:test|spec)\.[cm]?[jt]sx?$/;

function readPackage(dir: string, text: string): PackageJson | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const obj = data as Record<string, unknown>;
  const scripts: Record<string, string> = {};
  if (typeof obj.scripts === 'object' && obj.scripts !== null) {
    for (const [k, v] of Object.entries(obj.scripts as Record<string, unknown>)) if (typeof v === 'string') scripts[k] = v;
  }
  const deps = new Set<string>();
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const d = obj[field];
    if (typeof d === 'object' && d !== null) for (const k of Object.keys(d)) deps.add(k);
  }
  return { dir, scripts, deps, keys: new Set(Object.keys(obj)) };
}

function testScripts(pkg: PackageJson): string[] {
  return Object.entries(pkg.scripts)
    .filter(([k]) => k === 'test' || k.startsWith('test:') || k.startsWith('test-'))
    .map(([, v]) => v);
}

const VALUE_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '--conditions', '-C']);

/**
 * Node flags that make test files loadable (loaders such as --import tsx, --experimental-* switches), taken from the
 * project's own `node --test` script; reporter, filter and coverage flags are left out because ssr picks its own.
 */
export function nodeLaunchFrom(script: string | undefined, typescript: boolean, hasTsx: boolean): NodeLaunch {
  const m = script ? /(?:^|[\s;&|(])(node|tsx)\s+([^;&|]*)/.exec(script) : null;
  if (m && /(?:^|\s)--test\b/.test(m[2] ?? '')) {
    const tokens = (m[2] ?? '').trim().split(/\s+/);
    const flags: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] ?? '';
      if (!t.startsWith('-')) continue;
      if (t.startsWith('--test') || t.startsWith('--experimental-test')) continue;
      if (VALUE_FLAGS.has(t)) {
        const v = tokens[i + 1];
        if (v !== undefined) flags.push(t, v.replace(/^['"]|['"]$/g, ''));
        i++;
      } else if (/^--(?:import|loader|experimental-loader|require|conditions)=|^--(?:experimental|no-experimental|enable-source-maps|no-warnings)/.test(t)) {
        flags.push(t.replace(/=(['"])(.*)\1$/, '=$2'));
      }
    }
    return { command: m[1] === 'tsx' ? 'tsx' : 'node', flags };
  }
  // Node 20 cannot load .ts files by itself; tsx, when installed, is the usual way such suites run.
  if (typescript && hasTsx) return { command: 'node', flags: ['--import', 'tsx'] };
  return { command: 'node', flags: [] };
}

/**
 * The config file each package's test script hands the runner (`jest --config test/jest.config.js`, `-c x`,
 * `--config=x`), from the first test script that runs it: jest and vitest look for their config only in the
 * package directory, so one kept elsewhere applies only when named. Paths stay relative to the package, where the
 * script runs them.
 */
export function runnerConfigsFrom(packages: ReadonlyArray<{ dir: string; scripts: Record<string, string> }>, runner: 'jest' | 'vitest'): Map<string, string> {
  const out = new Map<string, string>();
  for (const pkg of packages) {
    const scripts = Object.entries(pkg.scripts)
      .filter(([k]) => k === 'test' || k.startsWith('test:') || k.startsWith('test-'))
      .sort(([a], [b]) => (a === 'test' ? -1 : b === 'test' ? 1 : 0));
    for (const [, script] of scripts) {
      const segment = script.split(/&&|\|\||[;|]/).find((part) => SCRIPT_WORDS[runner].test(part));
      if (!segment) continue;
      const tokens = segment.trim().split(/\s+/).map((t) => t.replace(/^(['"])(.*)\1$/, '$2'));
      let config: string | undefined;
      for (let i = 0; i < tokens.length && config === undefined; i++) {
        const t = tokens[i] ?? '';
        if (t === '--config' || t === '-c') config = tokens[i + 1];
        else if (t.startsWith('--config=')) config = t.slice('--config='.length).replace(/^(['"])(.*)\1$/, '$2');
      }
      if (config && !config.startsWith('-')) out.set(pkg.dir, config);
      break;
    }
  }
  return out;
}

/** JS test runners ssr does not run, as a package.json test script or dependency names them. */
const UNSUPPORTED: ReadonlyArray<[name: string, script: RegExp, dep: string | null]> = [
  ['uvu', /(?:^|[\s;&|(/])uvu(?=\s|$)/, 'uvu'],
  ['node-tap', /(?:^|[\s;&|(/])tap(?=\s|$)/, 'tap'],
  ['jasmine', /(?:^|[\s;&|(/])jasmine(?=\s|$)/, 'jasmine'],
  ['@hapi/lab', /(?:^|[\s;&|(/])lab(?=\s|$)/, '@hapi/lab'],
  ['karma', /(?:^|[\s;&|(/])karma(?=\s|$)/, 'karma'],
  ['qunit', /(?:^|[\s;&|(/])qunit(?=\s|$)/, 'qunit'],
  ['playwright', /(?:^|[\s;&|(/])playwright\s+test\b/, null],
  ['bun test', /(?:^|[\s;&|(/])bun\s+test\b/, null],
  ['deno test', /(?:^|[\s;&|(/])deno\s+test\b/, null],
];

/**
 * Why a repository with JavaScript tests got no runner: the runners its package.json files name that ssr does not
 * support (for the no-test-runner reason, so it says what was found rather than only what was looked for).
 */
export async function unsupportedJavaScript(tree: RepoTree): Promise<string[]> {
  const found = new Map<string, string>();
  for (const f of tree.files) {
    if (f !== 'package.json' && !f.endsWith('/package.json')) continue;
    const pkg = readPackage(f === 'package.json' ? '.' : f.slice(0, -'/package.json'.length), await tree.read(f));
    if (!pkg) continue;
    for (const [name, script, dep] of UNSUPPORTED) {
      if (found.has(name)) continue;
      const s = Object.entries(pkg.scripts).find(([k, v]) => (k === 'test' || k.startsWith('test')) && script.test(v));
      if (s) found.set(name, `${f} scripts.${s[0]}: ${JSON.stringify(s[1])}`);
      else if (dep && pkg.deps.has(dep)) found.set(name, `${f} depends on ${dep}`);
    }
  }
  return [...found].map(([name, where]) => `(found ${name} (${where}): ${name} is not a supported test runner)`);
}

export async function detectJavaScript(tree: RepoTree): Promise<Runner[]> {
  const packages: PackageJson[] = [];
  for (const f of tree.files) {
    if (f === 'package.json' || f.endsWith('/package.json')) {
      const pkg = readPackage(f === 'package.json' ? '.' : f.slice(0, -'/package.json'.length), await tree.read(f));
      if (pkg) packages.push(pkg);
    }
  }
  const candidates: Array<{ file: string; text: string }> = [];
  for (const f of tree.files) {
    if (!isJsTestCandidate(f)) continue;
    const text = await tree.read(f);
    if (HAS_TEST_CALLS.test(text)) candidates.push({ file: f, text });
  }
  if (candidates.length === 0) return [];

  const root = packages.find((p) => p.dir === '.');
  const score = new Map<JsRunnerName, number>();
  const add = (r: JsRunnerName, n: number): void => {
    score.set(r, (score.get(r) ?? 0) + n);
  };
  for (const r of ORDER) {
    for (const pkg of packages) {
      const weight = pkg === root ? 1 : 0.5;
      if (pkg.scripts.test !== undefined && SCRIPT_WORDS[r].test(pkg.scripts.test)) add(r, 100 * weight);
      else if (testScripts(pkg).some((s) => SCRIPT_WORDS[r].test(s))) add(r, 50 * weight);
      if (r !== 'node-test' && pkg.deps.has(r)) add(r, 10 * weight);
      if (r !== 'node-test' && r !== 'vitest' && r !== 'tape' && pkg.keys.has(r)) add(r, 10 * weight);
    }
    if (tree.files.some((f) => CONFIG_FILES[r].test(f))) add(r, 10);
    add(r, Math.min(10, candidates.filter((c) => IMPORTS[r].test(c.text)).length));
  }
  if (packages.some((p) => p.deps.has('react-scripts'))) add('jest', 5);

  const allTs = candidates.filter((c) => TS_EXT.test(c.file)).length * 2 > candidates.length;
  const hasTsx = packages.some((p) => p.deps.has('tsx'));
  const nodeScript = [root, ...packages].flatMap((p) => (p ? testScripts(p) : [])).find((s) => SCRIPT_WORDS['node-test'].test(s));
  const launch = nodeLaunchFrom(nodeScript, allTs, hasTsx);
  const nodeByScript = nodeScript !== undefined;

  const sourceFiles = tree.files.filter((f) => JS_EXT.test(f) && !isTestFile(f) && !/\.d\.[cm]?ts$|\.min\.js$/.test(f));
  const ranked = ORDER.filter((r) => (score.get(r) ?? 0) > 0).sort((a, b) => (score.get(b) ?? 0) - (score.get(a) ?? 0));
  const runners: Runner[] = [];
  for (const name of ranked) {
    const others = ORDER.filter((o) => o !== name);
    let files = candidates
      .filter((c) => !others.some((o) => IMPORTS[o].test(c.text)) || IMPORTS[name].test(c.text))
      .map((c) => c.file);
    if (name === 'node-test' && !nodeByScript) files = candidates.filter((c) => IMPORTS['node-test'].test(c.text)).map((c) => c.file);
    if (name === 'jest' || name === 'vitest') {
      const conventional = files.filter((f) => DEFAULT_MATCH.test(f));
      if (conventional.length > 0) files = conventional;
    }
    if (files.length === 0) continue;
    const typescript = files.filter((f) => TS_EXT.test(f)).length * 2 > files.length;
    const configs: RunnerConfigs = name === 'jest' || name === 'vitest' ? runnerConfigsFrom(packages, name) : new Map();
    runners.push({
      name,
      language: typescript ? 'typescript' : 'javascript',
      testFiles: files,
      sourceFiles,
      script: (testFiles: string[]) => jsScript(name, testFiles, launch, configs),
      parser: () => jsParser(name),
    });
  }
  return runners;
}
