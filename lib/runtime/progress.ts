/**
 * A progress sink: long operations (inventory and cleanup walks, fleet runs) report their counters as
 * they go, so a caller that shows progress (the CLI on a terminal) need not parse log lines. Optional
 * everywhere; a Lambda invocation passes none. Every event carries cumulative totals, so a sink may
 * drop any of them and still show the truth with the next.
 */
export interface ProgressEvent {
  /** What runs: `inventory`, `cleanup`, `fleet`. */
  task: string;
  /** Units done so far (objects listed or deleted, storages checked), including resumed work. */
  done: number;
  /** What `done` counts: `objects`, `storages`. */
  unit: string;
  /** The number of units to do, when known (a fleet's due entries; a walk never knows it). */
  total?: number;
  /** Bytes of the objects counted in `done`. */
  bytes?: number;
  /** Listing calls made so far. */
  calls?: number;
}

export type ProgressSink = (event: ProgressEvent) => void;
