export class NoTestRunnerError extends Error {
  constructor(
    readonly repoDir: string,
    lookedFor: string[],
  ) {
    super(`no test runner found in ${repoDir}: looked for ${lookedFor.join('; ')}`);
    this.name = 'NoTestRunnerError';
  }
}
