/**
 * scheduledCheck: checks every storage of a fleet manifest on a schedule (serverless.yml). The event is
 * the schedule's input, `{ "fleet": "<file:|s3://|aws-ssm: reference>" }`, or an EventBridge scheduled
 * event; FLEET_SOURCE is used when the event names no fleet.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { loadFleetConfig } from '../lib/fleet/config.js';
import { runFleet, type FleetRunOutput } from '../lib/fleet/run.js';
import { operationContext } from './common/middleware.js';
import { fleetObserver } from './common/fleet-observability.js';
import { log, logger } from './common/observability.js';

const fleetConfig = loadFleetConfig();

interface ScheduledCheckEvent {
  fleet?: unknown;
  time?: unknown;
}

function eventFields(event: unknown): { fleet?: string; time?: Date } {
  if (event === null || typeof event !== 'object') return {};
  const { fleet, time } = event as ScheduledCheckEvent;
  const parsedTime = typeof time === 'string' ? new Date(time) : undefined;
  return {
    ...(typeof fleet === 'string' && fleet !== '' ? { fleet } : {}),
    ...(parsedTime && !Number.isNaN(parsedTime.getTime()) ? { time: parsedTime } : {}),
  };
}

export const handler = middy<unknown, FleetRunOutput, Error, Context>()
  .use(injectLambdaContext(logger))
  .handler(async (event, context) => {
    const { fleet, time } = eventFields(event);
    const source = fleet ?? fleetConfig.source;
    if (!source)
      throw new Error('no fleet: pass { "fleet": "<reference>" } in the schedule input or set FLEET_SOURCE');
    const { deadline, config, progress } = operationContext(context);
    return runFleet({
      source,
      fleet: fleetConfig,
      runtime: config,
      deadline,
      log,
      observer: fleetObserver,
      ...(time ? { runTime: time } : {}),
      ...(progress ? { progress } : {}),
    });
  });
