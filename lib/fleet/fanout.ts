/**
 * Fan-out for large fleets: one SQS message per entry (SendMessageBatch, ten a call), consumed by the
 * checkWorker function. A message carries the manifest item itself, so the worker needs no access to the
 * manifest and a retried message checks exactly what was scheduled.
 */
import { z } from 'zod';
import { sendBatchToQueue, SQS_BATCH_LIMIT, type QueueMessage } from '../delivery/sqs.js';
import type { Deadline } from '../runtime/deadline.js';
import { parseFleetItems, type FleetEntry } from './manifest.js';
import type { FleetEntryResult } from './summary.js';

export const FLEET_MESSAGE_VERSION = 1;

const messageSchema = z.object({
  v: z.literal(FLEET_MESSAGE_VERSION),
  source: z.string(),
  runTime: z.string(),
  index: z.number().int().min(0),
  id: z.string().min(1),
  item: z.unknown(),
});
export type FleetMessage = z.output<typeof messageSchema>;

/** Batch calls in flight at once. */
const PARALLEL_BATCHES = 4;

export function fleetMessage(entry: FleetEntry, source: string, runTime: string): QueueMessage {
  const body: FleetMessage = {
    v: FLEET_MESSAGE_VERSION,
    source,
    runTime,
    index: entry.index,
    id: entry.id,
    item: entry.item,
  };
  return {
    body: JSON.stringify(body),
    attributes: { entry: entry.id, source },
    groupKey: entry.id,
    deduplicationId: `${runTime}:${entry.index}`.replace(/[^\x21-\x7e]/g, '_'),
  };
}

/** A queue message body → the entry it schedules; throws on anything that is not ours. */
export function entryFromMessage(body: string): { entry: FleetEntry; message: FleetMessage } {
  const message = messageSchema.parse(JSON.parse(body));
  const [entry] = parseFleetItems([message.item]);
  if (!entry) throw new Error('message has no item');
  return { entry: { ...entry, index: message.index, id: message.id }, message };
}

/**
 * Enqueues every entry; an entry SQS refuses for a passing reason is tried once more. Returns one
 * result per entry: `queued`, or `notChecked` with the queue's error code as reason.
 */
export async function enqueueEntries(
  entries: readonly FleetEntry[],
  queueUrl: string,
  source: string,
  runTime: string,
  deadline: Deadline,
): Promise<FleetEntryResult[]> {
  const batches: FleetEntry[][] = [];
  for (let start = 0; start < entries.length; start += SQS_BATCH_LIMIT)
    batches.push(entries.slice(start, start + SQS_BATCH_LIMIT));
  const results: FleetEntryResult[] = [];
  let next = 0;
  const sendOne = async (batch: FleetEntry[]): Promise<void> => {
    let pending = batch;
    for (let round = 0; round < 2 && pending.length > 0; round += 1) {
      const failures = await sendBatchToQueue(
        queueUrl,
        pending.map((entry) => fleetMessage(entry, source, runTime)),
        deadline.signal(),
      );
      const failedIndexes = new Set(failures.map((failure) => failure.index));
      for (const [index, entry] of pending.entries()) {
        if (!failedIndexes.has(index)) results.push({ index: entry.index, id: entry.id, state: 'queued' });
      }
      const retryable = failures.filter(
        (failure) => !failure.senderFault && round === 0 && !deadline.expired(),
      );
      const final = failures.filter((failure) => !retryable.includes(failure));
      for (const failure of final) {
        const entry = pending[failure.index] as FleetEntry;
        results.push({
          index: entry.index,
          id: entry.id,
          state: 'notChecked',
          reason: `EnqueueFailed`,
          message: `SQS did not accept the entry (${failure.code})`,
        });
      }
      pending = retryable.map((failure) => pending[failure.index] as FleetEntry);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL_BATCHES, batches.length) }, async () => {
      while (next < batches.length) await sendOne(batches[next++] as FleetEntry[]);
    }),
  );
  return results;
}
