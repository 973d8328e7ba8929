import { LocalSandboxProvider } from '../../src/sandbox/local.ts';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
rmSync('/tmp/smoke/tc', { recursive: true, force: true });
mkdirSync('/tmp/smoke/tc/gomod', { recursive: true });
mkdirSync('/tmp/smoke/tc/crate/src', { recursive: true });
writeFileSync('/tmp/smoke/tc/gomod/go.mod', 'module example.com/m\n\ngo 1.21\n');
writeFileSync('/tmp/smoke/tc/gomod/m.go', 'package m\n\nimport "strings"\n\nfunc Up(s string) string { return strings.ToUpper(s) }\n');
writeFileSync('/tmp/smoke/tc/gomod/m_test.go', 'package m\n\nimport "testing"\n\nfunc TestUp(t *testing.T) { if Up("a") != "A" { t.Fatal("x") } }\n');
writeFileSync('/tmp/smoke/tc/crate/Cargo.toml', '[package]\nname = "c"\nversion = "0.1.0"\nedition = "2021"\n');
writeFileSync('/tmp/smoke/tc/crate/src/lib.rs', 'pub fn add(a: i32, b: i32) -> i32 { a + b }\n#[cfg(test)]\nmod t { #[test] fn a() { assert_eq!(super::add(1, 2), 3); } }\n');
const p = new LocalSandboxProvider({ stateDir: '/tmp/smoke/state', isolation: 'bwrap' });
const sb = await p.create({ base: '/tmp/smoke/tc' });
for (const c of ['go version && cd gomod && go test ./... 2>&1', 'cd gomod && go test ./... 2>&1', 'cd crate && cargo test 2>&1 | tail -5', 'node -e "console.log(process.version)"; python3 -m pytest --version; ls -A /root; id; cat /etc/shadow; ls /etc/ssh']) {
  const t = performance.now(); const r = await sb.exec(c, { timeoutMs: 300_000 }); console.log(c, (performance.now() - t).toFixed(0), r);
}
await sb.dispose();
