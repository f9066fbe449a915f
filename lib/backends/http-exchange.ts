/**
 * The request/response half of the stores that speak HTTP themselves (Swift, REST): one attempt comes
 * from the protocol (URL, authentication, a token renewal), everything around it is written once here.
 *
 * - Retries: passing faults (resets, one attempt's timeout, the protocol's retry verdict) go through
 *   retry.ts with the caller's signal. Every request these stores send is idempotent (their comments
 *   say why for their PUTs and POSTs); after the last attempt a failed answer is returned, so the
 *   caller's own reading of it (a 404, a 403 on a POST) still applies.
 * - Failures: a failure without an answer is classified by the protocol's table, never passed on raw.
 * - Whose 404: Swift and REST servers answer 404 alike for a missing object and a missing container
 *   (repository). A request of this exchange that succeeded on the container proves it exists; a
 *   listing still in flight may yet prove it; otherwise the protocol's existence probe decides.
 */
import type { HttpResponse } from '../net/http-client.js';
import { retrying, type RetryVerdict } from '../runtime/retry.js';
import type { StorageError } from './errors.js';
import {
  bodyBytes,
  isDeleted,
  isSuccess,
  notFoundSubject,
  presenceOf,
  type HttpAnswer,
  type HttpCall,
} from './http-status.js';

/** What an error table needs to know of the request that failed. */
export type FailedCall<Target extends string> = Pick<HttpCall<Target>, 'operation' | 'target' | 'key'>;

/** What one protocol brings: how to send one attempt, and how to read what went wrong. */
export interface HttpProtocol<Target extends string> {
  /** Targets a 404 of an object request is charged to: the object's own, or its container's. */
  readonly objectTarget: Target;
  readonly containerTarget: Target;
  /** One attempt on the wire, authenticated; a failure without an answer throws as it came. */
  transmit(call: HttpCall<Target>): Promise<HttpResponse>;
  /** The protocol's table: a failed answer (or a failure without one) as a StorageError. */
  error(failure: unknown, call: FailedCall<Target>): StorageError;
  /** Whether an answer is a passing failure worth another attempt (http-status.ts `httpRetryVerdict`). */
  retryVerdict(response: HttpResponse): RetryVerdict;
  /** Whether a successful answer to `call` proves the container exists (an account-level call does not). */
  provesContainer(call: HttpCall<Target>): boolean;
  /** The existence probe a 404 falls back on. */
  containerExists(signal?: AbortSignal): Promise<boolean>;
}

export class HttpExchange<Target extends string> {
  readonly #protocol: HttpProtocol<Target>;
  /** A request of this exchange succeeded on the container or an object in it. */
  #containerSeen = false;
  /** Listings in flight, which may yet prove the container exists. */
  readonly #listings = new Set<Promise<unknown>>();

  constructor(protocol: HttpProtocol<Target>) {
    this.#protocol = protocol;
  }

  /** The answer to `call`, whatever its status, after retries; `attempts` learns how many were made. */
  send(call: HttpCall<Target>, attempts?: { made: number }): Promise<HttpResponse> {
    const protocol = this.#protocol;
    const sent = retrying(
      async (attempt) => {
        if (attempts) attempts.made = attempt + 1;
        let response: HttpResponse;
        try {
          response = await protocol.transmit(call);
        } catch (error) {
          throw protocol.error(error, call);
        }
        if (isSuccess(response.status) && protocol.provesContainer(call)) this.#containerSeen = true;
        return response;
      },
      {
        signal: call.signal,
        idempotent: true,
        retryResult: (response) => protocol.retryVerdict(response),
      },
    );
    if (call.operation !== 'list') return sent;
    this.#listings.add(sent);
    return sent.finally(() => this.#listings.delete(sent));
  }

  fail(answer: HttpAnswer, call: FailedCall<Target>): StorageError {
    return this.#protocol.error(answer, call);
  }

  /** A successful answer to `call`, or the protocol's error for the failed one. */
  async expect(call: HttpCall<Target>): Promise<HttpResponse> {
    const response = await this.send(call);
    if (!isSuccess(response.status)) throw this.fail(response, call);
    return response;
  }

  /** An existence probe: true for 2xx, false for 404, the protocol's error otherwise. */
  async probe(call: HttpCall<Target>): Promise<boolean> {
    const response = await this.send(call);
    const present = presenceOf(response);
    if (present === undefined) throw this.fail(response, call);
    return present;
  }

  /** A request on one object (HEAD, GET): its successful answer, or a NotFound charged to its owner. */
  async read(call: HttpCall<Target>): Promise<HttpResponse> {
    const response = await this.send(call);
    if (response.status === 404) throw await this.#notFound(response, call);
    if (!isSuccess(response.status)) throw this.fail(response, call);
    return response;
  }

  /** `read`'s body as the bytes `get` returns. */
  async readBytes(call: HttpCall<Target>): Promise<Uint8Array> {
    return bodyBytes(await this.read(call));
  }

  /** A DELETE: done when it succeeded or the object was already gone (ObjectStore.delete is idempotent). */
  async remove(call: HttpCall<Target>): Promise<void> {
    const response = await this.send(call);
    if (!isDeleted(response)) throw this.fail(response, call);
  }

  async #notFound(response: HttpResponse, call: HttpCall<Target>): Promise<StorageError> {
    const protocol = this.#protocol;
    if (!this.#containerSeen && this.#listings.size > 0) await Promise.allSettled([...this.#listings]);
    const subject = await notFoundSubject(this.#containerSeen, () => protocol.containerExists(call.signal));
    const target = subject === 'object' ? protocol.objectTarget : protocol.containerTarget;
    return this.fail(response, { ...call, target });
  }
}
