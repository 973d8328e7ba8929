/** The `ssr` command line. */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Command, Option } from 'commander';
import { parseConfig, loadConfigFile, resolveRepoPaths, ConfigError } from '../config/load.js';
import type { CampaignConfig } from '../config/schema.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { connectClient, connectWorker, ensureSearchAttributes } from '../temporal/connect.js';
import { PROJECT_ROOT, temporalTarget } from '../temporal/config.js';
import { ensureDevServer, localDevServerPort, portOpen, TemporalUnreachableError } from '../temporal/server.js';
import { superviseDevServer } from '../temporal/watchdog.js';
import { QUEUES, type QueueName } from '../../workflows/queues.js';
import { createWorkers, runWorkers } from '../../workers/start.js';
import { workerMain } from '../../workers/main.js';
import { pauseSignal, resumeSignal, stopSignal, statusQuery } from '../../workflows/campaign.js';
import { CampaignEndedError, campaignFailure, describeCampaign, follow, isRunning, newCampaignId, ROW_HEADER, startCampaign, whereThingsAre } from './campaign.js';
import { addEpisodeCommands } from './episodes.js';
import { addCampaignList } from './campaigns.js';
import { addReplayCommand } from './replay.js';
import { addEvalCommand } from './eval.js';
import { readArtifactDir } from '../artifact/artifact.js';
import { runChecks } from '../checks/run.js';
import { isTestFile } from '../repo/runners/index.js';
import { describeRepo } from '../repo/describe.js';
import { sandboxDoctor } from '../sandbox/local.js';
import { dockerDoctor } from '../sandbox/docker/doctor.js';
import { reap } from '../sandbox/docker/reaper.js';
import { ensureExampleImages } from '../sandbox/docker/images.js';
import { episodeLiveness } from '../temporal/liveness.js';
import type { Backend } from '../sandbox/router.js';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

interface RunOpts { noIsolation?: boolean; slots?: string; sandbox?: Backend }

const sandboxOption = () => new Option('--sandbox <backend>', 'backend of directory repos (image repos always use docker)').choices(['local', 'docker']);

/**
 * Connects to Temporal. With the default (local) address, starts the embedded dev server when none listens; so too
 * when TEMPORAL_ADDRESS names a dev server of this state directory that died (its database is here): a campaign
 * resumed after its whole process tree was killed brings its server back. Any other unreachable server is an error.
 */
async function connect(rt: Runtime) {
  if (!process.env.TEMPORAL_ADDRESS) {
    const srv = await ensureDevServer(rt.home);
    if (srv.foreignDb !== undefined) {
      // Not an error (one server can serve several homes), but the campaign's workflows will not be where this
      // home's README section says they are.
      err(`temporal: reusing the dev server at ${srv.address} that another state directory started (its database: ${srv.foreignDb ?? 'unknown'}), since this home's database is on that port too (${srv.dbFile}); the workers of both homes poll the same task queues and can take each other's tasks: stop that server`);
    } else {
      err(`temporal: ${srv.reused ? 'reusing' : 'started'} dev server at ${srv.address} (database ${srv.dbFile})`);
    }
  }
  // After the server is up: a new home's server may have been given a port of its own.
  const target = temporalTarget(process.env, rt.home);
  if (process.env.TEMPORAL_ADDRESS) {
    const port = target.tls ? null : localDevServerPort(target.address, rt.home);
    if (port !== null && !(await portOpen(port))) {
      const srv = await ensureDevServer(rt.home, { port });
      err(`temporal: nothing listened at ${target.address}; restarted the dev server from its database ${srv.dbFile}`);
    }
  }
  let client;
  try {
    client = await connectClient(target);
  } catch (e) {
    throw process.env.TEMPORAL_ADDRESS ? new TemporalUnreachableError(target.address, e) : e;
  }
  await ensureSearchAttributes(client, target.namespace);
  return { client, target };
}

/** Runs all three workers in this process while `fn` runs (the single-machine default). */
async function withLocalWorkers<T>(rt: Runtime, opts: RunOpts, fn: () => Promise<T>): Promise<T> {
  const target = temporalTarget(process.env, rt.home);
  const connection = await connectWorker(target);
  const workers = await createWorkers(Object.values(QUEUES), { connection, namespace: target.namespace, runtime: rt, sandboxSlots: opts.slots ? Number(opts.slots) : undefined });
  let result!: T;
  // The run outlives a crash of the embedded server: it is started again and the workers reconnect.
  const watchdog = superviseDevServer(rt.home, target, err);
  const work = fn().then((r) => { result = r; });
  try {
    await runWorkers(workers, work);
    await work;
  } finally {
    watchdog?.stop();
  }
  await connection.close();
  return result;
}

function runtimeFor(opts: RunOpts): Runtime {
  return createRuntime({ isolation: opts.noIsolation ? 'none' : 'bwrap', sandbox: opts.sandbox });
}

async function runCampaign(rt: Runtime, cfg: CampaignConfig, opts: RunOpts & { id?: string; resumeFile?: string; detach?: boolean }): Promise<void> {
  const { client } = await connect(rt);
  let id = opts.id ?? null;
  if (!id && opts.resumeFile && existsSync(opts.resumeFile)) {
    const prev = readFileSync(opts.resumeFile, 'utf8').trim();
    if (prev && (await isRunning(client, prev))) { id = prev; err(`resuming campaign ${prev} (finished steps are not redone)`); }
  }
  if (!id || !(await isRunning(client, id))) {
    // The workers started here read the repositories here: a path that is not one fails now, before a campaign
    // exists, not in its first activity. (With --detach the workers may run where the path is.)
    if (!opts.detach) for (const r of cfg.repos) if ('path' in r) await describeRepo(r.path);
    id = id ?? newCampaignId();
    await startCampaign(client, id, cfg);
    err(`started campaign ${id}: ${cfg.steps} steps x ${cfg.rounds} rounds x ${cfg.solves} solves over ${cfg.repos.length} repositories`);
  }
  if (opts.resumeFile) { mkdirSync(path.dirname(opts.resumeFile), { recursive: true }); writeFileSync(opts.resumeFile, id); }
  if (opts.detach) { out(id); return; }
  const campaignId = id;
  out(ROW_HEADER);
  const final = await withLocalWorkers(rt, opts, () => follow(client, campaignId, out));
  out('');
  out(`campaign ${final.done ? 'finished' : 'ended'}: ${final.step} steps, ${final.roundsDone} rounds (${final.roundsFailed} failed), policy ${final.policyVersion}`);
  for (const l of whereThingsAre(rt, campaignId)) out(l);
}

function ensureExamples(): string {
  const script = path.join(PROJECT_ROOT, 'examples', 'build.sh');
  execFileSync('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return path.join(PROJECT_ROOT, 'examples', 'campaign.yaml');
}

const program = new Command('ssr').description('Self-play SWE-RL campaigns, durable on Temporal');


program.command('demo')
  .description('run (or resume) a campaign over the bundled example repositories')
  .option('--steps <n>', 'steps', '3').option('--rounds <n>', 'rounds per step', '3').option('--solves <n>', 'solver attempts per bug', '4')
  .addOption(sandboxOption().default('local'))
  .option('--slots <n>', 'sandbox activities at once on this machine')
  .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
  .action(async (o) => {
    const file = ensureExamples();
    const rt = runtimeFor({ noIsolation: o.isolation === false, sandbox: o.sandbox });
    let cfg = resolveRepoPaths(await loadConfigFile(file, { steps: Number(o.steps), rounds: Number(o.rounds), solves: Number(o.solves) }), path.dirname(file));
    if (o.sandbox === 'docker') {
      // The same examples, as the method takes them: images holding each repository and its toolchain.
      const images = await ensureExampleImages((l: string) => err(`images: ${l}`));
      cfg = { ...cfg, repos: images.map((i) => ({ image: i.ref, workdir: i.workdir, name: i.name })) };
    }
    const resumeFile = path.join(rt.home, o.sandbox === 'docker' ? 'demo-campaign-docker' : 'demo-campaign');
    await runCampaign(rt, cfg, { noIsolation: o.isolation === false, slots: o.slots, sandbox: o.sandbox, resumeFile });
  });

program.command('server')
  .description('start (or reuse) the embedded Temporal dev server and print its address')
  .action(async () => {
    const rt = createRuntime();
    const s = await ensureDevServer(rt.home);
    if (s.foreignDb !== undefined) out(`running, started by another state directory: ${s.address} (database ${s.foreignDb ?? 'unknown'}, not under ${rt.home})`);
    else out(`${s.reused ? 'running' : 'started'}: ${s.address} (pid ${s.pid ?? '?'}, database ${s.dbFile}, log ${s.logFile})`);
  });

program.command('worker')
  .description('run the workers of one task queue against the Temporal server of TEMPORAL_ADDRESS')
  .requiredOption('--queue <queue>', `${Object.values(QUEUES).join(' | ')} | all`)
  .option('--slots <n>', 'sandbox activities at once')
  .addOption(sandboxOption())
  .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
  .action(async (o) => {
    const all = Object.values(QUEUES) as QueueName[];
    const queues = o.queue === 'all' ? all : (String(o.queue).split(',') as QueueName[]);
    for (const q of queues) if (!all.includes(q)) throw new ConfigError(`unknown queue '${q}': one of ${all.join(', ')}, all`);
    await workerMain(queues, { isolation: o.isolation === false ? 'none' : undefined, sandbox: o.sandbox, slots: o.slots ? Number(o.slots) : undefined, identity: `${queues.join('+')}@${process.pid}` });
  });

const campaign = program.command('campaign').description('start and steer campaigns');
addCampaignList(campaign);
campaign.command('start')
  .description('run a campaign on repositories on disk or in Docker images')
  .option('--repo <dir>', 'a repository (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--image <ref>', 'a Docker image holding a repository and its dependencies (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--config <file>', 'campaign config (YAML)')
  .option('--steps <n>').option('--rounds <n>').option('--solves <n>').option('--id <id>', 'campaign id')
  .option('--detach', 'only start the workflow (workers run elsewhere)')
  .option('--slots <n>', 'sandbox activities at once on this machine')
  .addOption(sandboxOption())
  .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
  .action(async (o) => {
    const num = (x: string | undefined) => (x === undefined ? undefined : Number(x));
    const over = { steps: num(o.steps), rounds: num(o.rounds), solves: num(o.solves) };
    const given = [...o.repo.map((p: string) => ({ path: p })), ...o.image.map((image: string) => ({ image }))];
    let cfg: CampaignConfig;
    if (o.config) {
      cfg = resolveRepoPaths(await loadConfigFile(o.config, given.length ? { ...over, repos: given } : over), path.dirname(path.resolve(o.config)));
    } else {
      if (!given.length) throw new ConfigError('give at least one --repo <dir>, --image <ref> or a --config file');
      cfg = resolveRepoPaths(parseConfig({ repos: given, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) }, 'options'), process.cwd());
    }
    if (o.isolation === false) cfg = { ...cfg, sandbox: { ...cfg.sandbox, isolation: 'none' } };
    const rt = runtimeFor({ noIsolation: o.isolation === false, sandbox: o.sandbox });
    await runCampaign(rt, cfg, { id: o.id, detach: o.detach, slots: o.slots, noIsolation: o.isolation === false, sandbox: o.sandbox });
  });

campaign.command('status <id>').option('--json').description('where a campaign stands').action(async (id: string, o) => {
  const rt = createRuntime();
  const { client } = await connect(rt);
  const h = client.workflow.getHandle(id);
  const d = await describeCampaign(client, id);
  let st;
  if (d.status.name === 'RUNNING') st = await h.query(statusQuery);
  else if (d.status.name === 'COMPLETED') st = await h.result();
  // A failed campaign's status is its cause, as `campaign start` printed it.
  const failure = d.status.name === 'FAILED' ? await h.result().then(() => null, (e: unknown) => (campaignFailure(id, e) as Error).message) : null;
  const res = { id, workflowStatus: d.status.name, ...(st ?? {}), ...(failure ? { failure } : {}) };
  if (o.json) out(JSON.stringify(res, null, 2));
  else out(`${id}: ${d.status.name}${st ? `, step ${st.step}/${st.steps}, ${st.roundsDone} rounds done, policy ${st.policyVersion}${st.paused ? ', paused' : ''}` : ''}${failure ? `: ${failure}` : ''}`);
});

for (const [name, sig, help] of [['pause', pauseSignal, 'pause before the next step'], ['resume', resumeSignal, 'resume a paused campaign; keeps workers running here until it ends'], ['stop', stopSignal, 'finish the running step, then end']] as const) {
  const c = campaign.command(`${name} <id>`).description(help);
  if (name === 'resume') c.option('--detach', 'only send the signal').addOption(sandboxOption()).addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'));
  c.action(async (id: string, o: { detach?: boolean; isolation?: boolean; sandbox?: Backend }) => {
    const rt = runtimeFor({ noIsolation: o.isolation === false, sandbox: o.sandbox });
    const { client } = await connect(rt);
    const d = await describeCampaign(client, id);
    // A signal to an ended workflow fails as "not found": say what it is instead.
    if (d.status.name !== 'RUNNING') throw new CampaignEndedError(`campaign ${id} has ended (${d.status.name}): there is nothing to ${name}; \`npx ssr campaign status ${id}\` says where it ended`);
    await client.workflow.getHandle(id).signal(sig);
    err(`${name} sent to ${id}`);
    if (name === 'resume' && !o.detach && (await isRunning(client, id))) {
      out(ROW_HEADER);
      const final = await withLocalWorkers(rt, { noIsolation: o.isolation === false, sandbox: o.sandbox }, () => follow(client, id, out));
      out(`campaign ${final.done ? 'finished' : 'ended'} at step ${final.step}`);
      for (const l of whereThingsAre(rt, id)) out(l);
    }
  });
}

addEpisodeCommands(program);
addEvalCommand(program, { runtimeFor });
addReplayCommand(program, { runtimeFor, connect, withLocalWorkers });

const artifact = program.command('artifact').description('bug artifacts');
artifact.command('check <dir>').requiredOption('--repo <path>').option('--json').addOption(sandboxOption())
  .option('--min-passing <n>', 'check 3 threshold', '5').option('--timeout <s>', 'test script time limit', '90')
  .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
  .description('run every consistency check on an artifact directory against a repository')
  .action(async (dir: string, o) => {
    const rt = runtimeFor({ noIsolation: o.isolation === false, sandbox: o.sandbox });
    const a = await readArtifactDir(dir);
    const report = await runChecks(a, {
      provider: rt.provider, repoDir: path.resolve(o.repo), testTimeoutMs: Number(o.timeout) * 1000, isTestFile,
      limits: { minPassingTests: Number(o.minPassing), minChangedFiles: 1, minFailingTests: 1 },
      saveLog: (_n, text) => rt.store.putBlob(text),
    });
    if (o.json) out(JSON.stringify({ valid: report.valid, checks: report.checks.map(({ check, ok, ran, code, reason, evidence, logs }) => ({ check, ok, ran, code, reason, evidence, logs })) }, null, 2));
    else for (const c of report.checks) out(`${c.ok ? 'ok  ' : c.ran ? 'FAIL' : 'skip'} ${c.check.padEnd(17)} ${c.code ? `[${c.code}] ` : ''}${c.reason}`);
    process.exitCode = report.valid ? 0 : 1;
  });

const sandboxCmd = program.command('sandbox').description('sandbox tools');
sandboxCmd.command('doctor').description('are the local (bubblewrap) and Docker sandboxes usable here, and if not, what to do').action(async () => {
  const d = await sandboxDoctor();
  out('local sandbox (--sandbox local):');
  out(`  bubblewrap: ${d.bwrap ? 'ok' : 'missing'}\n  overlayfs:  ${d.overlay ? 'ok' : 'unavailable'}\n  cgroups:    ${d.cgroups ? 'ok' : 'unavailable'}`);
  // Not a problem: without it the solver's probes keep wall-clock limits, which a loaded machine can make stop early.
  out(`  CPU time:   ${d.cpuTime ? 'measured (the solver\'s probes are limited by CPU time)' : 'not measured (no writable cpuacct cgroup v1 or cpu.stat: the solver\'s probes keep wall-clock limits, which depend on the load)'}`);
  for (const p of d.problems) out(`  - ${p}`);
  const k = await dockerDoctor();
  out('docker sandbox (--sandbox docker, image repos):');
  out(`  engine:     ${k.engine ? `ok (${k.engine})` : 'unavailable'}\n  image:      ${k.image ? 'ok' : 'missing'}\n  container:  ${k.sandbox ? 'ok' : 'not working'}`);
  if (k.sandbox) out(`  CPU time:   ${k.cpuTime ? 'measured (the container\'s cgroup, read on this machine)' : 'not measured (a remote engine, or its containers\' cgroups are not under /sys/fs/cgroup here): CPU-time limits keep to the wall clock'}`);
  for (const p of k.problems) out(`  - ${p}`);
  // Usable when either backend works; each section says what the other needs.
  process.exitCode = d.problems.length && k.problems.length ? 1 : 0;
});
sandboxCmd.command('reap').description('remove containers and snapshot images that no live worker or episode owns').action(async () => {
  const rt = createRuntime();
  const { client } = await connect(rt);
  const r = await reap({ isEpisodeLive: episodeLiveness(client) });
  out(`removed ${r.containers.length} containers and ${r.images.length} snapshot images`);
});

program.parseAsync(process.argv).catch((e: unknown) => {
  const ex = e as Error;
  err(`ssr: ${ex.name && ex.name !== 'Error' ? `${ex.name}: ` : ''}${ex.message}`);
  if (process.env.SSR_DEBUG) err(ex.stack ?? '');
  process.exit(1);
});
