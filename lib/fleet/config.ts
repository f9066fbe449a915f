/**
 * Fleet settings, from the deployment's environment (serverless.yml, custom.fleet), read once and
 * validated: a bad value fails at cold start, not in the middle of a run.
 */
import { z } from 'zod';

const fleetSchema = z.object({
  /** Where the manifest is: `file:<path>`, `s3://bucket/key` or `aws-ssm:<name>`; the event's `fleet` wins. */
  FLEET_SOURCE: z.string().min(1).optional(),
  /**
   * Checks running at once inside one invocation. A check is about two round trips of waiting and a few
   * milliseconds of CPU (SDK request building, signing, parsing), so at 32 a 1,000-storage fleet at 50 ms
   * is bound by the function's CPU (about 8 s on one core), not by waiting (floor 3.1 s); at 8 the waiting
   * alone took 12.5 s. More than 32 adds memory (sockets, pending responses), not speed (bench/RESULTS.md).
   */
  FLEET_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(32),
  /** Fleets larger than this are fanned out over FLEET_QUEUE_URL (one message per entry). */
  FLEET_FANOUT_THRESHOLD: z.coerce.number().int().min(0).default(50),
  FLEET_QUEUE_URL: z.string().min(1).optional(),
  /** Upper bound for one entry's check (its deadline is also carved from the invocation's remaining time). */
  FLEET_ENTRY_TIMEOUT_SECONDS: z.coerce.number().positive().max(900).default(20),
  /** The schedule's rate, so per-entry intervals (annotation) can tell which run is due. */
  FLEET_SCHEDULE_RATE_MINUTES: z.coerce.number().positive().default(15),
});

export interface FleetConfig {
  source?: string;
  concurrency: number;
  fanoutThreshold: number;
  queueUrl?: string;
  entryTimeoutMs: number;
  scheduleRateMs: number;
}

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('FLEET_') && value !== ''),
  );
  const parsed = fleetSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid fleet configuration: ${problems}`);
  }
  const values = parsed.data;
  return {
    source: values.FLEET_SOURCE,
    concurrency: values.FLEET_CONCURRENCY,
    fanoutThreshold: values.FLEET_FANOUT_THRESHOLD,
    queueUrl: values.FLEET_QUEUE_URL,
    entryTimeoutMs: values.FLEET_ENTRY_TIMEOUT_SECONDS * 1000,
    scheduleRateMs: values.FLEET_SCHEDULE_RATE_MINUTES * 60_000,
  };
}
