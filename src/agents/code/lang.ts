/** Languages the embedded agents can parse, and how a repository path maps onto them. */
export type Lang = 'python' | 'javascript' | 'typescript' | 'tsx' | 'go' | 'rust' | 'java' | 'c' | 'cpp';

export const LANGS: readonly Lang[] = ['python', 'javascript', 'typescript', 'tsx', 'go', 'rust', 'java', 'c', 'cpp'];

const EXT_LANG: Record<string, Lang> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  // tree-sitter-javascript parses JSX natively, so .jsx needs no separate grammar.
  '.jsx': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  // TSX needs its own grammar: `<T>x` casts and JSX are ambiguous in plain TypeScript.
  '.tsx': 'tsx',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.c': 'c',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.cxx': 'cpp',
  '.c++': 'cpp',
  '.hpp': 'cpp',
  '.hh': 'cpp',
  '.hxx': 'cpp',
  '.h++': 'cpp',
  // A .h may belong to a C or a C++ project, and a path cannot tell which. tree-sitter-cpp extends the C grammar, so
  // it parses C headers too (bar C code using C++ keywords as names, which then counts as a file with errors and
  // only gets edits that add none); a C grammar would reject every class, namespace and template of a C++ header.
  '.h': 'cpp',
};

export function langOfPath(relPath: string): Lang | null {
  // Declaration files contain no code to mutate and stubbing them makes no sense.
  if (relPath.endsWith('.d.ts') || relPath.endsWith('.d.mts') || relPath.endsWith('.d.cts')) return null;
  const slash = relPath.lastIndexOf('/');
  const base = relPath.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return null;
  const ext = base.slice(dot);
  // `.C` (capital) is C++ by the convention gcc and CMake follow.
  if (ext === '.C') return 'cpp';
  return EXT_LANG[ext.toLowerCase()] ?? null;
}

export function isJsLike(lang: Lang): boolean {
  return lang === 'javascript' || lang === 'typescript' || lang === 'tsx';
}

export function isTypeScript(lang: Lang): boolean {
  return lang === 'typescript' || lang === 'tsx';
}

/** C and C++: one family of grammars (tree-sitter-cpp extends tree-sitter-c), so most rules are shared. */
export function isCFamily(lang: Lang): boolean {
  return lang === 'c' || lang === 'cpp';
}
