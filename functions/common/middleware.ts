/**
 * The middy chain shared by every operation function. Order, as middy advises for HTTP: normalize
 * headers, decode the body, run the handler, shape the response; errors are shaped last. Only request
 * errors (4xx/501) expose their message; anything else is a bare 500 and a log line.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { decodeBody } from '../../lib/api/body.js';
import { RequestError } from '../../lib/config/request-error.js';
import { isStorageError } from '../../lib/backends/errors.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../../lib/config/runtime.js';
import type { OperationContext } from '../../lib/operations/context.js';
import { Deadline } from '../../lib/runtime/deadline.js';
import type { ProgressSink } from '../../lib/runtime/progress.js';
import { OPERATOR, type Caller } from '../../lib/trust/scope.js';
import { callerOf, identifyCaller } from './auth.js';
import { isHttpEvent, type DecodedEvent } from './event.js';
import { log, logger } from './observability.js';

export const runtimeConfig: RuntimeConfig = loadRuntimeConfig();

/** Answer this much before Lambda's own timeout, so a result always goes out. */
const RESPONSE_MARGIN_MS = 500;

/**
 * A Lambda context that also carries a progress sink: the CLI invokes handlers in-process and shows
 * long operations' counters (cli/invoke.ts). Lambda itself never sets it.
 */
export interface ProgressContext extends Context {
  progress?: ProgressSink;
}

export function operationContext(context: ProgressContext, caller: Caller = OPERATOR): OperationContext {
  const remaining =
    typeof context.getRemainingTimeInMillis === 'function'
      ? context.getRemainingTimeInMillis()
      : runtimeConfig.defaultTimeoutMs;
  return {
    deadline: Deadline.in(remaining - RESPONSE_MARGIN_MS),
    config: runtimeConfig,
    log,
    caller,
    ...(context.progress ? { progress: context.progress } : {}),
  };
}

function errorBody(error: RequestError): string {
  return JSON.stringify({ error: error.toJSON() });
}

/** Errors a caller can act on, as RequestErrors; anything else stays unexposed. */
function asRequestError(error: unknown): RequestError | undefined {
  if (error instanceof RequestError) return error;
  if (isStorageError(error, 'Unimplemented')) return new RequestError('ProviderNotSupported', error.message);
  // middy's own early timeout: the invocation is about to end, too soon for even a Timeout status.
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new RequestError('Timeout', 'the invocation ran out of time before the operation could answer', [
      { path: 'context', message: 'give the function more time (its timeout, or options.timeoutSeconds)' },
    ]);
  }
  return undefined;
}

const decodeEvent = (): middy.MiddlewareObj<unknown, unknown, Error, Context> => ({
  before: (request) => {
    const event = request.event;
    if (isHttpEvent(event)) {
      const headers = (event.headers ?? {}) as Record<string, string | undefined>;
      const raw = event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
      const decoded: DecodedEvent = {
        source: 'http',
        body: decodeBody(raw, headers['content-type'], runtimeConfig.maxBodyBytes),
      };
      request.event = decoded;
    } else {
      const body =
        typeof event === 'string' ? decodeBody(event, 'application/yaml', runtimeConfig.maxBodyBytes) : event;
      request.event = { source: 'direct', body } satisfies DecodedEvent;
    }
  },
});

const shapeResponse = (): middy.MiddlewareObj<unknown, unknown, Error, Context> => {
  const isHttp = (request: middy.Request<unknown, unknown, Error, Context>): boolean =>
    (request.event as DecodedEvent | undefined)?.source === 'http' || isHttpEvent(request.event);
  return {
    after: (request) => {
      if (isHttp(request)) {
        request.response = {
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request.response),
        };
      }
    },
    onError: (request) => {
      const known = asRequestError(request.error);
      if (known) {
        logger.warn('request refused', { code: known.code, status: known.status, issues: known.issues });
      } else {
        logger.error('internal error', { error: request.error?.name ?? 'Error' });
      }
      const status = known?.status ?? 500;
      const body = known
        ? errorBody(known)
        : JSON.stringify({ error: { code: 'InternalError', message: 'internal error' } });
      request.response = isHttp(request)
        ? { statusCode: status, headers: { 'content-type': 'application/json' }, body }
        : { statusCode: status, ...(JSON.parse(body) as object) };
    },
  };
};

/** A Lambda handler around `run`: decoded body in, JSON-serializable result out. */
export function operationHandler(run: (body: unknown, context: OperationContext) => Promise<unknown>) {
  return (
    middy<unknown, unknown, Error, Context>()
      .use(injectLambdaContext(logger))
      .use(shapeResponse())
      .use(httpHeaderNormalizer())
      // Every HTTP caller is identified (IAM, HMAC) or refused before its body is read (functions/common/auth.ts).
      .use(identifyCaller(runtimeConfig))
      .use(decodeEvent())
      .handler(async (event, context) =>
        run((event as DecodedEvent).body, operationContext(context, callerOf(context))),
      )
  );
}
