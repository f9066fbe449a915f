/**
 * The event sources a function serves: API Gateway (REST v1 and HTTP v2) and Lambda function URLs,
 * or a direct invoke whose event is the request itself (serverless invoke, schedules, the SDK).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

export function isHttpEvent(event: unknown): event is HttpEvent {
  if (event === null || typeof event !== 'object') return false;
  const candidate = event as Record<string, unknown>;
  return (
    typeof candidate.requestContext === 'object' &&
    candidate.requestContext !== null &&
    'headers' in candidate
  );
}

/** What reaches the operation after the middleware chain: the decoded body and where it came from. */
export interface DecodedEvent {
  source: 'http' | 'direct';
  body: unknown;
}
