/**
 * A request the caller got wrong, or asked for something we do not do. Carries the HTTP status the
 * handlers answer with and the path of every offending field, never a stack trace.
 */
import type { z } from 'zod';

export interface FieldIssue {
  /** Dotted path from the request root, e.g. `storage.spec.storage.s3.prefx`. */
  path: string;
  message: string;
}

export type RequestErrorCode =
  | 'InvalidRequest'
  | 'MalformedBody'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'ProviderNotSupported'
  | 'Unauthorized'
  | 'Forbidden'
  /** The deployment, not the caller, is wrong (e.g. HMAC mode without a usable secret): nothing runs. */
  | 'Misconfigured'
  /** The invocation ran out of time before the operation could answer (Lambda's own limit). */
  | 'Timeout';

const STATUS_BY_CODE: Record<RequestErrorCode, number> = {
  InvalidRequest: 400,
  MalformedBody: 400,
  Unauthorized: 401,
  Forbidden: 403,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  ProviderNotSupported: 501,
  Misconfigured: 503,
  Timeout: 504,
};

export class RequestError extends Error {
  readonly code: RequestErrorCode;
  readonly status: number;
  readonly issues: FieldIssue[];

  constructor(code: RequestErrorCode, message: string, issues: FieldIssue[] = []) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.issues = issues;
  }

  toJSON(): { code: RequestErrorCode; message: string; issues?: FieldIssue[] } {
    return this.issues.length > 0
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }
}

export function formatPath(base: readonly PropertyKey[], rest: readonly PropertyKey[] = []): string {
  return [...base, ...rest]
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/** Turns zod issues into field issues rooted at `base`; unknown keys are named one by one. */
export function issuesFromZod(error: z.ZodError, base: readonly PropertyKey[]): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath(base, [...issue.path, key]),
        message: 'unknown field (check its spelling and that it sits under the right block)',
      }));
    }
    return [{ path: formatPath(base, issue.path), message: issue.message }];
  });
}

/** Parses with a zod schema or throws an InvalidRequest naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  base: readonly PropertyKey[],
  what: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error, base);
  throw new RequestError(
    'InvalidRequest',
    `invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}
