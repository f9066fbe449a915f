/** Minimal real-shaped Lambda inputs for invoking handlers in tests: a context and an API Gateway HTTP API (v2) event. */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** A `Context` whose remaining time runs down with the real clock from `remainingMs`. */
export function lambdaContext(remainingMs = 30_000, functionName = 'backupstorage-functions-test'): Context {
  const end = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface HttpEventOptions {
  contentType?: string;
  path?: string;
  base64?: boolean;
  headers?: Record<string, string>;
}

/**
 * A POST carrying `body`: a string is sent as it is, anything else as JSON. The second argument is the
 * path (default /v1/check) or the options. Typed as a plain record too, for tests that alter the event.
 */
export function httpEvent(
  body: unknown,
  pathOrOptions: string | HttpEventOptions = {},
): APIGatewayProxyEventV2 & Record<string, unknown> {
  const options = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const path = options.path ?? '/v1/check';
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'Content-Type': options.contentType ?? 'application/json', ...options.headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: crypto.randomUUID(),
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '22/Nov/2026:00:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: options.base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: options.base64 ?? false,
  };
}

export interface HttpResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

export function parseHttpResult(result: unknown): { statusCode: number; json: any } {
  const http = result as HttpResult;
  return { statusCode: http.statusCode, json: JSON.parse(http.body) };
}
