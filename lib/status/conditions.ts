/**
 * The status every operation returns: KubeStash's BackupStorage.status shape (phase, conditions with
 * kmodules' fields, lastValidationTime), our own check conditions next to KubeStash's, and timings.
 */
import type { StorageError } from '../backends/errors.js';
import { sanitizeText } from '../credentials/redact.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';
/** kmodules Condition severity: Error (default) decides the phase; Warning and Info do not. */
export type ConditionSeverity = 'Error' | 'Warning' | 'Info';

export const ConditionType = {
  /** KubeStash */
  BackendSecretFound: 'BackendSecretFound',
  BackendInitialized: 'BackendInitialized',
  /** ours */
  BackendReachable: 'BackendReachable',
  BackendAuthenticated: 'BackendAuthenticated',
  BackendReadable: 'BackendReadable',
  BackendWritable: 'BackendWritable',
  MetadataValid: 'MetadataValid',
} as const;

/** Conditions are listed in the order a person reads them: credentials, network, access, then layout. */
const CONDITION_ORDER: readonly string[] = [
  ConditionType.BackendSecretFound,
  ConditionType.BackendReachable,
  ConditionType.BackendAuthenticated,
  ConditionType.BackendReadable,
  ConditionType.BackendWritable,
  ConditionType.MetadataValid,
  ConditionType.BackendInitialized,
];

function conditionRank(type: string): number {
  const rank = CONDITION_ORDER.indexOf(type);
  return rank < 0 ? CONDITION_ORDER.length : rank;
}

/** KubeStash's own reasons for its two condition types (shared/spec/kubestash-layout.md §1.5). */
export const KubeStashReason = {
  BackendSecretAvailable: 'BackendSecretAvailable',
  BackendSecretNotAvailable: 'BackendSecretNotAvailable',
  BackendInitializationSucceeded: 'BackendInitializationSucceeded',
  BackendInitializationFailed: 'BackendInitializationFailed',
} as const;

export interface Condition {
  type: string;
  status: ConditionStatus;
  severity?: ConditionSeverity;
  /** For failures, the error code (NotFound, PermissionDenied, …). */
  reason: string;
  message: string;
  /** What a person can do about it (failures and warnings). */
  hint?: string;
  lastTransitionTime: string;
}

export type Phase = 'Ready' | 'NotReady';

export interface StorageStatus {
  phase: Phase;
  conditions: Condition[];
  lastValidationTime: string;
  /** Whether the store enforces create-if-absent itself; false when the adapter falls back to its own scheme. */
  conditionalWrites?: boolean;
  /** Milliseconds per step, and `total`. */
  timings: Record<string, number>;
  [extra: string]: unknown;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  hint?: string;
  severity?: ConditionSeverity;
}

/** Collects conditions and timings for one operation, sanitizing every message on the way in. */
export class StatusBuilder {
  readonly #conditions = new Map<string, Condition>();
  readonly #timings: Record<string, number> = {};
  readonly #started = Date.now();
  readonly #secrets: string[] = [];
  readonly extra: Record<string, unknown> = {};

  /** Secret values to scrub from every message, in case an SDK echoed one. */
  addSecrets(values: readonly string[]): void {
    this.#secrets.push(...values);
  }

  set(input: ConditionInput): this {
    const condition: Condition = {
      type: input.type,
      status: input.status,
      reason: input.reason,
      message: sanitizeText(input.message, this.#secrets),
      lastTransitionTime: new Date().toISOString(),
    };
    if (input.severity && input.severity !== 'Error') condition.severity = input.severity;
    if (input.hint) condition.hint = sanitizeText(input.hint, this.#secrets);
    this.#conditions.set(input.type, condition);
    return this;
  }

  ok(type: string, reason: string, message: string): this {
    return this.set({ type, status: 'True', reason, message });
  }

  /** A failed condition from a classified storage error: reason is the error code. */
  fail(type: string, error: StorageError, context?: string): this {
    return this.set({
      type,
      status: 'False',
      reason: error.code,
      message: context ? `${context}: ${error.message}` : error.message,
      hint: error.hint,
    });
  }

  unknown(type: string, reason: string, message: string, severity: ConditionSeverity = 'Error'): this {
    return this.set({ type, status: 'Unknown', reason, message, severity });
  }

  has(type: string): boolean {
    return this.#conditions.has(type);
  }

  get(type: string): Condition | undefined {
    return this.#conditions.get(type);
  }

  isTrue(type: string): boolean {
    return this.#conditions.get(type)?.status === 'True';
  }

  /** Times an async step into `timings[name]`, failures included. */
  async time<T>(name: string, step: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await step();
    } finally {
      this.#timings[name] = Math.round(performance.now() - start);
    }
  }

  /** Ready iff every condition of Error severity is True, and there is at least one. */
  build(): StorageStatus {
    const conditions = [...this.#conditions.values()].sort(
      (a, b) => conditionRank(a.type) - conditionRank(b.type),
    );
    const blocking = conditions.filter((condition) => (condition.severity ?? 'Error') === 'Error');
    const ready = blocking.length > 0 && blocking.every((condition) => condition.status === 'True');
    return {
      phase: ready ? 'Ready' : 'NotReady',
      conditions,
      lastValidationTime: new Date().toISOString(),
      ...this.extra,
      timings: { ...this.#timings, total: Date.now() - this.#started },
    };
  }
}

/** The reason a status is not Ready: its first failing Error-severity condition (they are in reading order). */
export function notReadyReason(status: StorageStatus): { reason: string; message: string } | undefined {
  if (status.phase === 'Ready') return undefined;
  const failing = status.conditions.find(
    (condition) => condition.status !== 'True' && (condition.severity ?? 'Error') === 'Error',
  );
  return failing
    ? { reason: failing.reason, message: `${failing.type}: ${failing.message}` }
    : { reason: 'Unknown', message: 'no condition decided the phase' };
}
