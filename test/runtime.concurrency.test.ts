import { describe, expect, it } from 'vitest';
import { untilAborted } from '../lib/runtime/abortable.js';
import { ConcurrencyLimit } from '../lib/runtime/concurrency.js';

const deferred = <T>(): { promise: Promise<T>; resolve: (value: T) => void } => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('untilAborted', () => {
  it('passes the value through when the signal stays quiet', async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });

  it('rejects with the signal’s reason when it fires first', async () => {
    const controller = new AbortController();
    const pending = untilAborted(deferred<number>().promise, controller.signal);
    controller.abort(new DOMException('deadline', 'TimeoutError'));
    await expect(pending).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects at once for a signal that already fired', async () => {
    await expect(untilAborted(deferred<number>().promise, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('ConcurrencyLimit', () => {
  it('never runs more than its limit at once, and runs every task', async () => {
    const limit = new ConcurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const gates = Array.from({ length: 10 }, () => deferred<void>());
    const runs = gates.map((gate, index) =>
      limit.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await gate.promise;
        active--;
        return index;
      }),
    );
    for (const gate of gates) {
      await new Promise((resolve) => setImmediate(resolve));
      gate.resolve();
    }
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(limit.active).toBe(0);
  });

  it('lets an aborted waiter leave the queue without taking a slot', async () => {
    const limit = new ConcurrencyLimit(1);
    const gate = deferred<void>();
    const first = limit.run(() => gate.promise);
    const controller = new AbortController();
    const waiting = limit.run(async () => 'never', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    gate.resolve();
    await first;
    await expect(limit.run(async () => 'next')).resolves.toBe('next');
    expect(limit.active).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
