/**
 * One local HTTP endpoint speaking the AWS JSON protocols (awsJson1_0 for SQS, awsJson1_1 for Secrets
 * Manager and SSM): POST / with `X-Amz-Target: <Service>.<Operation>`, a JSON body, a SigV4
 * Authorization header; errors are HTTP 400 with `{"__type": "<namespace>#<Code>", "message": ...}`.
 * Each service fake (test/fakes/sqs.ts, secretsmanager.ts, ssm.ts) registers its target prefix.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** SQS (awsQueryCompatible) also sends its query-protocol error code in a header. */
    readonly queryError?: string,
  ) {
    super(message);
  }
}

export interface AwsJsonService {
  /** e.g. `AmazonSQS`, `secretsmanager`, `AmazonSSM`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  contentType: string;
  /** Error namespace in `__type`, e.g. `com.amazonaws.sqs`. */
  errorNamespace: string;
  handle(operation: string, input: Record<string, unknown>, endpoint: string): unknown;
}

export interface AwsJsonEndpoint {
  url: string;
  /** Every request seen: target and parsed body (for asserting what the SDK sent). */
  calls: { target: string; input: Record<string, unknown> }[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAwsJsonEndpoint(services: AwsJsonService[]): Promise<AwsJsonEndpoint> {
  const calls: AwsJsonEndpoint['calls'] = [];
  let url = '';
  const server: Server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const [prefix, operation = ''] = target.split('.');
      const service = services.find((candidate) => candidate.targetPrefix === prefix);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        const text = JSON.stringify(body);
        response.writeHead(status, {
          'content-type': service?.contentType ?? 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(text),
          'x-amzn-requestid': crypto.randomUUID(),
          ...headers,
        });
        response.end(text);
      };
      const fail = (fault: AwsFault): void =>
        send(
          fault.status,
          {
            __type: `${service?.errorNamespace ?? 'com.amazon.coral.service'}#${fault.code}`,
            message: fault.message,
          },
          fault.queryError ? { 'x-amzn-query-error': fault.queryError } : {},
        );
      const text = await readBody(request);
      if (request.method !== 'POST' || !service) {
        return fail(new AwsFault('UnknownOperationException', `unknown target ${target}`));
      }
      if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
        return fail(
          new AwsFault('MissingAuthenticationTokenException', 'Request is missing Authentication Token', 400),
        );
      }
      if (request.headers['content-type'] !== service.contentType) {
        return fail(new AwsFault('SerializationException', `expected content type ${service.contentType}`));
      }
      let input: Record<string, unknown>;
      try {
        input = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
      } catch {
        return fail(new AwsFault('SerializationException', 'body is not JSON'));
      }
      calls.push({ target, input });
      try {
        send(200, service.handle(operation, input, url) ?? {});
      } catch (error) {
        if (error instanceof AwsFault) return fail(error);
        send(500, { __type: 'com.amazon.coral.service#InternalFailure', message: String(error) });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function requireString(input: Record<string, unknown>, field: string, queryError?: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsFault(
      queryError ? 'MissingParameter' : 'ValidationException',
      `The request must contain the parameter ${field}.`,
      400,
      queryError,
    );
  }
  return value;
}
