/** Single-quotes a string for sh/bash: every command string that carries a path or text into a sandbox uses it. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
