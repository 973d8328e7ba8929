/** Languages the embedded agents can parse, and how a repository path maps onto them. */
export type Lang = 'python' | 'javascript' | 'typescript' | 'tsx' | 'go' | 'rust' | 'java';

export const LANGS: readonly Lang[] = ['python', 'javascript', 'typescript', 'tsx', 'go', 'rust', 'java'];

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
};

export function langOfPath(relPath: string): Lang | null {
  // Declaration files contain no code to mutate and stubbing them makes no sense.
  if (relPath.endsWith('.d.ts') || relPath.endsWith('.d.mts') || relPath.endsWith('.d.cts')) return null;
  const slash = relPath.lastIndexOf('/');
  const base = relPath.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return null;
  return EXT_LANG[base.slice(dot).toLowerCase()] ?? null;
}

export function isJsLike(lang: Lang): boolean {
  return lang === 'javascript' || lang === 'typescript' || lang === 'tsx';
}

export function isTypeScript(lang: Lang): boolean {
  return lang === 'typescript' || lang === 'tsx';
}
