/**
 * Workflow histories to and from Temporal's JSON history format (what `temporal workflow show --output json` writes).
 *
 * The SDK has these (`historyToJSON`/`historyFromJSON` in @temporalio/common/lib/proto-utils), but in this install
 * they throw "type must be a Type": @temporalio/common and @temporalio/proto each get their own nested copy of
 * protobufjs 8 (the top level holds protobufjs 7 for grpc), and protojson's `instanceof Type` check fails across the
 * two copies. So this does the same thing with the protojson of the copy that built @temporalio/proto's root, and
 * the replay test hands the replayer decoded History objects (the replayer's own JSON path goes through the broken
 * function).
 */
import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import type { History } from '@temporalio/common/lib/proto-utils.js';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const requireHere = createRequire(import.meta.url);
const protojson = createRequire(requireHere.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
const historyType = root.lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJson(json: string | unknown): History {
  const obj = typeof json === 'string' ? JSON.parse(json) as unknown : json;
  if (typeof obj !== 'object' || obj === null || !Array.isArray((obj as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an array of events');
  }
  // Tolerates fields a newer server or SDK wrote, as the SDK's own reader does.
  const h = protojson.fromJson(historyType, obj, { ignoreUnknownFields: true }) as History | null;
  if (!h) throw new TypeError('not a workflow history');
  return h;
}
