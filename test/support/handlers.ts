/** Invoking the initialize/check Lambda handlers in tests, directly and over HTTP, and reading their answers. */
import { expect } from 'vitest';
import type { handler as checkHandler } from '../../functions/check.js';
import type { OperationResult } from '../../lib/status/result.js';
import type { Condition } from '../../lib/status/conditions.js';
import { httpEvent, lambdaContext } from './lambda.js';

/** initialize and check share this type (the same middleware chain). */
export type Handler = typeof checkHandler;
export type Invoke = (event: unknown) => Promise<OperationResult>;

/** Invokes `handler` with `event` as the decoded request, as a direct Lambda invocation does. */
export const invokeDirect =
  (handler: Handler): Invoke =>
  async (event) =>
    (await handler(event as never, lambdaContext())) as OperationResult;

/** Sends `event` as the JSON body of an HTTP API request; the response must be 200. */
export const invokeHttp =
  (handler: Handler): Invoke =>
  async (event) => {
    const response = (await handler(httpEvent(event) as never, lambdaContext())) as {
      statusCode: number;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    return JSON.parse(response.body) as OperationResult;
  };

/** Both ways of invoking `handler`, for tests that run the same case through each. */
export const invokeBoth = (handler: Handler): { direct: Invoke; http: Invoke } => ({
  direct: invokeDirect(handler),
  http: invokeHttp(handler),
});

/** The condition of `type` in a result's status; throws, naming the conditions there are, when it is missing. */
export function condition(result: { status: { conditions: Condition[] } }, type: string): Condition {
  const found = result.status.conditions.find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} condition in ${JSON.stringify(result.status.conditions)}`);
  return found;
}
