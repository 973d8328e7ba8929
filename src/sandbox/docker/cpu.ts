/**
 * The CPU time of a container's processes, read from its cgroup on this machine: what lets the Docker backend stop a
 * command by CPU time (`ExecOptions.cpuTimeoutMs`) and report `ExecResult.cpuMs`, as the local backend does. One
 * container runs one command at a time (its keeper sleeps), so what the container's group used during a command is
 * the command's. Only a local engine's containers have their groups here; elsewhere there is no reader, and the
 * sandbox measures no CPU time (callers then keep to the wall clock).
 */
import { readFile } from 'node:fs/promises';

/** The container's CPU time so far in ms; null once it cannot be read (the container is gone). */
export type CpuReader = () => Promise<number | null>;

/** Where the cgroup hierarchies are mounted on this machine (v1 names the cpuacct one either way). */
const V1_MOUNTS = ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct'];
const V2_MOUNT = '/sys/fs/cgroup';

async function usageMs(file: string, v2: boolean): Promise<number | null> {
  try {
    const text = await readFile(file, 'utf8');
    if (!v2) {
      const ns = Number(text.trim());
      return Number.isFinite(ns) ? ns / 1e6 : null;
    }
    const m = /^usage_usec (\d+)$/m.exec(text);
    return m ? Number(m[1]) / 1000 : null;
  } catch {
    return null;
  }
}

/**
 * The reader of the group that the process `pid` (the container's init, `State.Pid`, as this machine sees it) is in,
 * from /proc/<pid>/cgroup: the v1 line that names cpuacct, or v2's single `0::` line. Null where no such file can be
 * read here (a remote engine, a process already gone, a hierarchy mounted elsewhere).
 */
export async function containerCpuReader(pid: number): Promise<CpuReader | null> {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const files: { file: string; v2: boolean }[] = [];
  for (const line of text.split('\n')) {
    // "<id>:<controllers>:<path>"; the path itself may hold ':'.
    const a = line.indexOf(':'), b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const ctrls = line.slice(a + 1, b), group = line.slice(b + 1);
    if (ctrls.split(',').includes('cpuacct')) for (const m of V1_MOUNTS) files.push({ file: `${m}${group}/cpuacct.usage`, v2: false });
    else if (line.startsWith('0::')) files.push({ file: `${V2_MOUNT}${group}/cpu.stat`, v2: true });
  }
  for (const f of files) {
    if ((await usageMs(f.file, f.v2)) !== null) return () => usageMs(f.file, f.v2);
  }
  return null;
}
