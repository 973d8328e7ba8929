import { isComment, walk } from './ast.js';
import type { Lang } from './lang.js';
import { withParsed } from './parser.js';

/**
 * The tokens of a source that can change what it does: every leaf but comments and, in Python, string statements
 * (docstrings). Whitespace is not a token, so a change of layout leaves them equal.
 */
export async function codeTokens(lang: Lang, source: string): Promise<string[]> {
  return withParsed(lang, source, (p) => {
    const out: string[] = [];
    walk(p.root, (n) => {
      if (isComment(n)) return false;
      if (lang === 'python' && n.type === 'expression_statement' && n.children.length === 1 && n.children[0]!.type === 'string') return false;
      // A literal is one token, content included: some grammars give a string no node for what is between its quotes.
      if (/string|literal/.test(n.type) && n.type !== 'string_content') {
        out.push(p.text(n));
        return false;
      }
      // Go's grammar makes line ends tokens (its automatic semicolons): layout, which go/ast does not keep either.
      if (n.children.length === 0 && p.text(n).trim() !== '') out.push(p.text(n));
    });
    return out;
  });
}

/** True when two versions of a file differ only in comments, docstrings or layout: no test can tell them apart. */
export async function sameCode(lang: Lang, a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([codeTokens(lang, a), codeTokens(lang, b)]);
  return x.length === y.length && x.every((t, i) => t === y[i]);
}
