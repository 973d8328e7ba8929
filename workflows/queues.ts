export const QUEUES = { control: 'ssr-control', sandbox: 'ssr-sandbox', gpu: 'ssr-gpu' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
