/**
 * Fleet instrumentation: one CloudWatch EMF record per check (Powertools Metrics), dimensioned by
 * provider, so users can alarm on `Ready` dropping to 0 for a provider; and a child logger per entry
 * that carries the storage identity on every line.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { StorageIdentity } from '../../lib/status/identity.js';
import type { FleetObserver } from '../../lib/fleet/metrics.js';
import type { Log } from '../../lib/runtime/log.js';
import { logger } from './observability.js';

export const METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'BackupStorageFunctions';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'backupstorage-functions' });

/** Step names become metric names: letters, digits and underscores only. */
function metricName(step: string): string {
  return `StepLatency_${step.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export const fleetObserver: FleetObserver = {
  logFor(entryId: string, storage?: StorageIdentity): Log {
    const child = logger.createChild();
    child.appendPersistentKeys({ entry: entryId, ...(storage ? { storage } : {}) });
    return {
      debug: (message, attributes) => child.debug(message, attributes ?? {}),
      info: (message, attributes) => child.info(message, attributes ?? {}),
      warn: (message, attributes) => child.warn(message, attributes ?? {}),
      error: (message, attributes) => child.error(message, attributes ?? {}),
    };
  },
  recordCheck(measurement, result) {
    // Recorded and published in one synchronous step, so concurrent checks never mix their dimensions.
    metrics.addDimension('provider', measurement.provider);
    metrics.addMetadata('entry', result.id);
    metrics.addMetric('Ready', MetricUnit.Count, measurement.ready);
    metrics.addMetric('CheckDuration', MetricUnit.Milliseconds, measurement.durationMs);
    // Phase changes (results store): a broken storage counts once, and so does its recovery.
    metrics.addMetric('Transitions', MetricUnit.Count, measurement.transition);
    metrics.addMetric(
      'BecameNotReady',
      MetricUnit.Count,
      measurement.transition && !measurement.ready ? 1 : 0,
    );
    for (const [step, ms] of Object.entries(measurement.steps))
      metrics.addMetric(metricName(step), MetricUnit.Milliseconds, ms);
    metrics.publishStoredMetrics();
  },
};
