/**
 * For SDKs that take no AbortSignal: settle a call's promise when the signal fires, so the caller keeps
 * its deadline. The SDK's own request is not cancelled by this; the adapter must bound it separately
 * (a per-request timeout), since it runs on until it ends.
 */

/** `promise`, or a rejection with the signal's reason (a TimeoutError/AbortError) when it fires first. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // The call already started; keep its eventual rejection from surfacing as unhandled.
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The signal's reason when it is an Error (AbortSignal.timeout gives a TimeoutError), else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('The operation was aborted', 'AbortError');
}
