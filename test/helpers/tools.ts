import { findExecutable } from '../../src/sandbox/bwrap.js';

/** How to install each tool the tests need (the machine CI runs on has them all). */
const INSTALL: Record<string, string> = {
  go: 'install Go (apt-get install golang, or https://go.dev/doc/install)',
  cargo: 'install Rust (apt-get install cargo, or rustup)',
  python3: 'apt-get install python3',
  gcc: 'apt-get install build-essential',
  'g++': 'apt-get install build-essential',
  make: 'apt-get install build-essential',
};

/**
 * A tool a test needs, found on the PATH: missing, the test fails saying how to install it. A skip would pass a run
 * on a machine that never exercised the runner the test is about.
 */
export function requireTool(...cmds: string[]): void {
  const missing = cmds.filter((c) => !findExecutable(c));
  if (missing.length) throw new Error(`this test needs ${missing.join(', ')}, not found on the PATH: ${missing.map((c) => INSTALL[c] ?? `install ${c}`).join('; ')}`);
}
