/**
 * Errors of the local sandbox backend. Failures of the sandbox machinery itself are exceptions (an activity
 * retries them); what an untrusted command does inside the sandbox is always a result, never one of these.
 */

/** The requested isolation cannot be provided on this machine; the message says how to fix it. */
export class SandboxUnavailableError extends Error {
  override readonly name: string = 'SandboxUnavailableError';
}

/** The sandbox machinery failed (a mount, bubblewrap setup, a cgroup): not the command's fault. */
export class SandboxError extends Error {
  override readonly name: string = 'SandboxError';
}

/** A path handed to readFile/writeFile/exec points outside the sandbox's work directory or is malformed. */
export class SandboxPathError extends Error {
  override readonly name = 'SandboxPathError';
}
