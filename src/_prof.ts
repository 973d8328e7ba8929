const acc = new Map<string, [number, number]>();
export async function T<R>(name: string, f: () => Promise<R>): Promise<R> {
  const t = performance.now();
  try { return await f(); } finally { const e = acc.get(name) ?? [0, 0]; e[0] += performance.now() - t; e[1]++; acc.set(name, e); }
}
export function dump(): string { return [...acc].sort((a, b) => b[1][0] - a[1][0]).map(([k, [ms, n]]) => `${k.padEnd(28)} ${(ms / 1000).toFixed(1).padStart(8)} s ${String(n).padStart(6)}`).join('\n'); }
export function reset(): void { acc.clear(); }
export function add(name: string, ms: number): void { const e = acc.get(name) ?? [0, 0]; e[0] += ms; e[1]++; acc.set(name, e); }
