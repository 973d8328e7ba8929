/** Whether an episode still runs, from its round workflow (the episode id is that workflow's id). */
import type { Client } from '@temporalio/client';

export function episodeLiveness(client: Client): (episodeId: string) => Promise<boolean> {
  return async (episodeId) => {
    try {
      const d = await client.workflow.getHandle(episodeId).describe();
      return d.status.name === 'RUNNING';
    } catch (e) {
      // A workflow the server never heard of (or has deleted) is not running; any other error is rethrown so the
      // reaper keeps the object.
      if ((e as Error).name === 'WorkflowNotFoundError') return false;
      throw e;
    }
  };
}
