/**
 * A storage's page (seed 004 §3): Basic, every condition with its hint and since when, the Repositories
 * table, the history of transitions, and "Check now" (a POST form: it works without JavaScript).
 */
import type { HistoryEntry, StorageRecord } from '../results/store.js';
import { age, size } from './format.js';
import { markup, type Html } from './html.js';
import { detailPath } from './paths.js';

function pairs(map: Record<string, string> | undefined): Html {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return markup`<span class="muted">none</span>`;
  return markup`${entries.map(([key, value]) => markup`<span class="kv">${key}=${value}</span>`)}`;
}

function place(record: StorageRecord): string {
  const storage = record.storage;
  if (!storage) return '—';
  const where = storage.bucket ?? storage.container ?? storage.path ?? storage.endpoint ?? '';
  return storage.prefix ? `${where}/${storage.prefix}` : where;
}

export interface DetailOptions {
  now: number;
  /** A message after "Check now" (the phase it found). */
  notice?: string;
}

export function renderDetail(
  record: StorageRecord,
  history: readonly HistoryEntry[],
  options: DetailOptions,
): Html {
  const { now } = options;
  const repositories = record.repositories;
  return markup`<nav aria-label="Breadcrumb">
      <a href="/console">BackupStorages</a> / ${record.namespace || '—'} / ${record.name}
    </nav>
    <h1>${record.name} <span class="phase ${record.phase}">${record.phase}</span></h1>
    ${options.notice ? markup`<p class="result" role="status">${options.notice}</p>` : ''}
    <form method="post" action="${detailPath(record)}/check" class="actions">
      <button type="submit">Check now</button>
      <span class="muted"
        >Last checked ${age(record.lastChecked, now)} ago (${record.lastOperation}); ${record.phase} for
        ${age(record.since, now)}${record.previousPhase && record.previousPhase !== record.phase ? markup`, was ${record.previousPhase}` : ''}.</span
      >
    </form>
    <h2 id="basic">Basic</h2>
    <dl class="basic" aria-labelledby="basic">
      <dt>Name</dt>
      <dd>${record.name}</dd>
      <dt>Namespace</dt>
      <dd>${record.namespace || '—'}</dd>
      <dt>Labels</dt>
      <dd>${pairs(record.manifest?.labels)}</dd>
      <dt>Annotations</dt>
      <dd>${pairs(record.manifest?.annotations)}</dd>
      <dt>UID</dt>
      <dd>${record.manifest?.uid ?? '—'}</dd>
      <dt>Provider</dt>
      <dd>${record.provider}</dd>
      <dt>Location</dt>
      <dd>${place(record)}</dd>
      <dt>Deletion Policy</dt>
      <dd>${record.manifest?.deletionPolicy ?? '—'}</dd>
      <dt>Status</dt>
      <dd>
        <span class="phase ${record.phase}">${record.phase}</span
        >${record.reason ? markup` <span class="reason">${record.reason}</span>` : ''}
      </dd>
      <dt>Size</dt>
      <dd>${size(record.totalBytes)}</dd>
    </dl>
    <h2 id="conditions">Conditions</h2>
    <table aria-labelledby="conditions">
      <thead>
        <tr>
          <th scope="col">Type</th>
          <th scope="col">Status</th>
          <th scope="col">Reason</th>
          <th scope="col">Message</th>
          <th scope="col">Hint</th>
          <th scope="col">Since</th>
        </tr>
      </thead>
      <tbody>
        ${record.conditions.map(
          (condition) =>
            markup`<tr>
              <td>
                ${condition.type}${condition.severity && condition.severity !== 'Error' ? markup` <span class="muted">(${condition.severity})</span>` : ''}
              </td>
              <td>${condition.status}</td>
              <td>
                ${condition.status === 'True' ? condition.reason : markup`<span class="reason">${condition.reason}</span>`}
              </td>
              <td>${condition.message}</td>
              <td>${condition.hint ?? ''}</td>
              <td>
                <time datetime="${condition.lastTransitionTime}"
                  >${age(condition.lastTransitionTime, now)} ago</time
                >
              </td>
            </tr>`,
        )}
        ${
          record.conditions.length === 0
            ? markup`<tr>
                <td colspan="6" class="muted">${record.message ?? 'No conditions recorded.'}</td>
              </tr>`
            : ''
        }
      </tbody>
    </table>
    <h2 id="repositories">Repositories</h2>
    <table aria-labelledby="repositories">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Namespace</th>
          <th scope="col">Size</th>
          <th scope="col">Snapshots</th>
          <th scope="col">Status</th>
          <th scope="col">Newest snapshot</th>
        </tr>
      </thead>
      <tbody>
        ${(repositories ?? []).map(
          (repository) =>
            markup`<tr>
              <td>${repository.name}</td>
              <td>${repository.namespace}</td>
              <td class="num">${repository.size}</td>
              <td class="num">${repository.snapshotCount}</td>
              <td>
                ${repository.synced ? markup`<span class="phase Ready">Ready</span>` : markup`<span class="phase NotReady">NotReady</span> <span class="reason">${repository.error ?? ''}</span>`}
              </td>
              <td>
                ${repository.newestSnapshotTime ? markup`<time datetime="${repository.newestSnapshotTime}">${age(repository.newestSnapshotTime, now)} ago</time>` : '—'}
              </td>
            </tr>`,
        )}
        ${
          !repositories
            ? markup`<tr>
                <td colspan="6" class="muted">
                  Not inventoried yet: run inventory, or check with options.inventory.
                </td>
              </tr>`
            : repositories.length === 0
              ? markup`<tr>
                  <td colspan="6" class="muted">No repositories.</td>
                </tr>`
              : ''
        }
      </tbody>
    </table>
    <h2 id="history">History</h2>
    <ol class="timeline" aria-labelledby="history">
      ${history.map(
        (entry) =>
          markup`<li>
            <time datetime="${entry.at}">${entry.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time> —
            ${entry.previousPhase ? markup`<span class="phase ${entry.previousPhase}">${entry.previousPhase}</span> → ` : markup`first seen: `}<span
              class="phase ${entry.phase}"
              >${entry.phase}</span
            >
            <span class="muted">(${entry.operation})</span
            >${entry.reason ? markup` <span class="reason">${entry.reason}</span>` : ''}${entry.message ? markup` <span class="muted">${entry.message}</span>` : ''}
          </li>`,
      )}
      ${history.length === 0 ? markup`<li class="muted">No transitions recorded.</li>` : ''}
    </ol>`;
}
