/**
 * checkWorker: consumes the fan-out queue, one fleet entry per message. Records run side by side (within
 * FLEET_CONCURRENCY); a record fails, and only that record returns to the queue, when its entry could not
 * be checked or its status could not be delivered. A message that is not ours fails too, and ends in the
 * dead-letter queue after maxReceiveCount.
 */
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { checkFleetEntry } from '../lib/fleet/check-entry.js';
import { loadFleetConfig } from '../lib/fleet/config.js';
import { entryFromMessage } from '../lib/fleet/fanout.js';
import { runPool } from '../lib/fleet/pool.js';
import { MIN_ENTRY_MS } from '../lib/fleet/run.js';
import type { FleetEntryResult } from '../lib/fleet/summary.js';
import { operationContext } from './common/middleware.js';
import { fleetObserver } from './common/fleet-observability.js';
import { logger } from './common/observability.js';

const fleetConfig = loadFleetConfig();

class RetryEntry extends Error {
  override name = 'RetryEntry';
}

function undelivered(result: FleetEntryResult): string[] {
  const delivery = result.delivery;
  if (!delivery) return [];
  return [delivery.webhook, delivery.sqs].flatMap((outcome) =>
    outcome && !outcome.delivered ? [outcome.sink] : [],
  );
}

export const handler = middy<SQSEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(
    sqsPartialBatchFailure({
      logger: (reason: unknown, record: SQSRecord) =>
        logger.warn('fleet message returned to the queue', {
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          reason: reason instanceof Error ? reason.message : 'failed',
        }),
    }),
  )
  .handler(async (event, context) => {
    const { deadline, config } = operationContext(context);
    const fail = (reason: string): PromiseSettledResult<FleetEntryResult> => ({
      status: 'rejected',
      reason: new RetryEntry(reason),
    });
    return runPool<SQSRecord, PromiseSettledResult<FleetEntryResult>>(
      event.Records ?? [],
      {
        concurrency: fleetConfig.concurrency,
        deadline,
        taskBudgetMs: fleetConfig.entryTimeoutMs,
        minTaskMs: MIN_ENTRY_MS,
      },
      {
        run: async (record, entryDeadline) => {
          let parsed: ReturnType<typeof entryFromMessage>;
          try {
            parsed = entryFromMessage(record.body);
          } catch {
            return fail('not a fleet message');
          }
          const result = await checkFleetEntry(parsed.entry, {
            runtime: config,
            deadline: entryDeadline,
            observer: fleetObserver,
            eventId: record.messageId,
          });
          const missed = undelivered(result);
          if (missed.length > 0) return fail(`status not delivered to ${missed.join(', ')}`);
          return { status: 'fulfilled', value: result };
        },
        notReached: () => fail('not reached before the invocation’s deadline'),
        overran: () => fail('the check did not finish within its deadline'),
      },
    );
  });
