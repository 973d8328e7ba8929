import { Context } from '@temporalio/activity';

/**
 * Heartbeats every few seconds while a long activity runs (test runs take seconds to minutes), carrying the last
 * progress note, so a dead worker is noticed within the heartbeat timeout and the activity is retried elsewhere.
 */
export async function withHeartbeat<T>(fn: (progress: (what: string) => void) => Promise<T>): Promise<T> {
  let ctx: Context | null = null;
  try { ctx = Context.current(); } catch { ctx = null; }
  let note = 'started';
  const beat = () => { try { ctx?.heartbeat(note); } catch { /* outside an activity */ } };
  beat();
  const timer = setInterval(beat, 2_000);
  try {
    return await fn((what) => { note = what; });
  } finally {
    clearInterval(timer);
  }
}
