/**
 * A request's `notify` section: the targets a caller adds to the deployment's own (lib/delivery/targets.ts
 * decides which it may name; lib/delivery/deliver.ts sends).
 */
import { z } from 'zod';

const httpUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');

export const notifySchema = z.strictObject({
  webhook: z
    .strictObject({
      url: httpUrl,
      /** A credentials reference whose bag holds WEBHOOK_SECRET, e.g. "aws-secretsmanager:bsf/webhook". */
      secret: z
        .string()
        .min(1)
        .max(2048)
        .regex(/^[a-z][a-z0-9-]*(:.*)?$/, 'must be a credentials reference such as "aws-secretsmanager:<id>"')
        .optional(),
    })
    .optional(),
  sqs: z
    .strictObject({
      queueUrl: httpUrl,
    })
    .optional(),
  /** `change`: send only phase transitions (a storage's first result included); `always` (default): every result. */
  on: z.enum(['always', 'change']).optional(),
});

export type NotifyTargets = z.output<typeof notifySchema>;
export type NotifyOn = NonNullable<NotifyTargets['on']>;
