/**
 * A local edit of source: replace [start, end) with `replacement`. Offsets are JS string (UTF-16
 * code unit) indices, the same unit web-tree-sitter reports when it is handed a JS string.
 */
export interface Edit {
  start: number;
  end: number;
  replacement: string;
}

/** Apply non-overlapping edits (in any order) and return the new source; overlapping edits throw. */
export function applyEdits(source: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let pos = 0;
  let prev: Edit | null = null;
  for (const e of sorted) {
    if (e.start < 0 || e.end > source.length || e.start > e.end) {
      throw new RangeError(`edit [${e.start}, ${e.end}) outside source of length ${source.length}`);
    }
    // Two insertions at one offset have no defined order, so they count as overlapping.
    const sameInsertionPoint = prev !== null && prev.start === e.start && prev.end === e.start && e.start === e.end;
    if (e.start < pos || sameInsertionPoint) throw new RangeError(`overlapping edits at offset ${e.start}`);
    out += source.slice(pos, e.start) + e.replacement;
    pos = e.end;
    prev = e;
  }
  return out + source.slice(pos);
}
