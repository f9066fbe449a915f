/**
 * The BackupStorage list (seed 004 §2): Name, Namespace, Provider, Size, No. of Connected Repositories,
 * Status, Age, plus when it was last checked, why it is not Ready and a strip of its recent checks.
 * Filtering, sorting and paging are query parameters (links and a GET form: no JavaScript needed), and
 * only one page of rows is rendered, so 10,000 storages cost one sort, not 10,000 rows of HTML.
 */
import type { StorageSummary } from '../results/store.js';
import { age, size } from './format.js';
import { markup, type Html } from './html.js';
import { detailPath } from './paths.js';

export const PAGE_SIZE = 50;

export const SORTS = [
  'name',
  'namespace',
  'provider',
  'size',
  'repositories',
  'status',
  'age',
  'checked',
] as const;
export type SortKey = (typeof SORTS)[number];

export interface ListQuery {
  namespace?: string;
  sort: SortKey;
  descending: boolean;
  page: number;
}

export function parseListQuery(query: Record<string, string | undefined>): ListQuery {
  const sort = (SORTS as readonly string[]).includes(query.sort ?? '') ? (query.sort as SortKey) : 'name';
  const page = Number.parseInt(query.page ?? '1', 10);
  return {
    ...(query.namespace ? { namespace: query.namespace } : {}),
    sort,
    descending: query.order === 'desc',
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const COMPARE: Record<SortKey, (a: StorageSummary, b: StorageSummary) => number> = {
  name: (a, b) => text(a.name, b.name) || text(a.namespace, b.namespace),
  namespace: (a, b) => text(a.namespace, b.namespace) || text(a.name, b.name),
  provider: (a, b) => text(a.provider, b.provider),
  size: (a, b) => (a.totalBytes ?? -1) - (b.totalBytes ?? -1),
  repositories: (a, b) => (a.repositoryCount ?? -1) - (b.repositoryCount ?? -1),
  // NotReady first when ascending: the broken ones are what a person looks for.
  status: (a, b) => text(a.phase, b.phase) || text(a.since, b.since),
  // Oldest first ascending, as kubectl's AGE column grows downwards.
  age: (a, b) => text(a.creationTimestamp ?? a.since, b.creationTimestamp ?? b.since),
  checked: (a, b) => text(b.lastChecked, a.lastChecked),
};

function query(current: ListQuery, change: Partial<ListQuery>): string {
  const next = { ...current, ...change };
  const params = new URLSearchParams();
  if (next.namespace) params.set('namespace', next.namespace);
  if (next.sort !== 'name') params.set('sort', next.sort);
  if (next.descending) params.set('order', 'desc');
  if (next.page > 1) params.set('page', String(next.page));
  const encoded = params.toString();
  return encoded ? `/console?${encoded}` : '/console';
}

function header(label: string, key: SortKey, current: ListQuery): Html {
  const active = current.sort === key;
  const descending = active ? !current.descending : false;
  const ariaSort = active ? (current.descending ? 'descending' : 'ascending') : 'none';
  return markup`<th scope="col" aria-sort="${ariaSort}">
    <a href="${query(current, { sort: key, descending, page: 1 })}"
      >${label}${active ? (current.descending ? ' ▼' : ' ▲') : ''}</a
    >
  </th>`;
}

export function uptimeBar(recent: StorageSummary['recent']): Html {
  const ready = recent.filter((check) => check.phase === 'Ready').length;
  const label = `${ready} of the last ${recent.length} checks Ready`;
  return markup`<span class="bar" role="img" aria-label="${label}" title="${label}"
    >${recent.map((check) => markup`<i class="${check.phase}"></i>`)}</span
  >`;
}

export interface ListPage {
  rows: StorageSummary[];
  total: number;
  pages: number;
  query: ListQuery;
  namespaces: string[];
}

/** Filters, sorts and cuts one page. */
export function selectPage(all: readonly StorageSummary[], listQuery: ListQuery): ListPage {
  const namespaces = [...new Set(all.map((row) => row.namespace))].sort();
  const filtered = listQuery.namespace
    ? all.filter((row) => row.namespace === listQuery.namespace)
    : [...all];
  const compare = COMPARE[listQuery.sort];
  filtered.sort(listQuery.descending ? (a, b) => compare(b, a) : compare);
  const pages = Math.max(1, Math.ceil(filtered.length / PAGE_SIZE));
  const pageNumber = Math.min(listQuery.page, pages);
  const start = (pageNumber - 1) * PAGE_SIZE;
  return {
    rows: filtered.slice(start, start + PAGE_SIZE),
    total: filtered.length,
    pages,
    query: { ...listQuery, page: pageNumber },
    namespaces,
  };
}

export function renderList(list: ListPage, now: number): Html {
  const q = list.query;
  const notReady = list.rows.filter((row) => row.phase !== 'Ready').length;
  return markup`<h1>BackupStorages</h1>
    <form class="toolbar" method="get" action="/console" role="search">
      <div>
        <label for="namespace-filter">Select Namespace</label>
        <select id="namespace-filter" name="namespace">
          <option value="">All namespaces</option>
          ${list.namespaces.map((ns) => markup`<option value="${ns}" ${ns === q.namespace ? markup` selected` : ''}>${ns || '(bare backends)'}</option>`)}
        </select>
      </div>
      ${q.sort !== 'name' ? markup`<input type="hidden" name="sort" value="${q.sort}" />` : ''}
      ${q.descending ? markup`<input type="hidden" name="order" value="desc" />` : ''}
      <button type="submit" class="secondary">Filter</button>
      <span class="spacer"></span>
      <a class="button" href="/console/new">Create New Instance</a>
    </form>
    <p class="muted" id="summary">
      ${list.total} storages${q.namespace ? markup` in ${q.namespace}` : ''}; ${notReady} NotReady on this page.
    </p>
    <table aria-describedby="summary">
      <thead>
        <tr>
          ${header('Name', 'name', q)}${header('Namespace', 'namespace', q)}${header('Provider', 'provider', q)}${header('Size', 'size', q)}${header('No. of Connected Repositories', 'repositories', q)}${header('Status', 'status', q)}${header('Age', 'age', q)}${header('Last checked', 'checked', q)}
          <th scope="col">Recent checks</th>
        </tr>
      </thead>
      <tbody>
        ${list.rows.map(
          (row) =>
            markup`<tr>
              <td><a href="${detailPath(row)}">${row.name}</a></td>
              <td>${row.namespace || markup`<span class="muted">—</span>`}</td>
              <td>${row.provider}</td>
              <td class="num">${size(row.totalBytes)}</td>
              <td class="num">${row.repositoryCount ?? '—'}</td>
              <td>
                <span class="phase ${row.phase}">${row.phase}</span>
                <span class="muted">for ${age(row.since, now)}</span
                >${row.reason ? markup`<div class="reason" title="${row.message ?? ''}">${row.reason}</div>` : ''}
              </td>
              <td>${age(row.creationTimestamp, now)}</td>
              <td>${age(row.lastChecked, now)} ago <span class="muted">(${row.lastOperation})</span></td>
              <td>${uptimeBar(row.recent)}</td>
            </tr>`,
        )}
        ${
          list.rows.length === 0
            ? markup`<tr>
                <td colspan="9" class="muted">
                  No storage recorded yet: run a check, or the scheduled fleet check.
                </td>
              </tr>`
            : ''
        }
      </tbody>
    </table>
    <nav class="pager" aria-label="Pages">
      ${q.page > 1 ? markup`<a href="${query(q, { page: q.page - 1 })}" rel="prev">Previous</a>` : ''}
      <span>Page ${q.page} of ${list.pages}</span>
      ${q.page < list.pages ? markup`<a href="${query(q, { page: q.page + 1 })}" rel="next">Next</a>` : ''}
    </nav>`;
}
