/**
 * `npx tsx bench/console.ts [--storages 10000]`: the console's list page over 10,000 storages.
 * Fills an embedded (file) store with one check per storage (a tenth NotReady), then measures the
 * server's time for GET /console (store read + sort + one page rendered) cold and warm, sorted by
 * status, on the last page and filtered by namespace; and, in Debian's chromium, the first contentful
 * paint of the list. Prints a Markdown table; figures only, no assertions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { serveConsole } from '../lib/console/app.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { FileResultsStore } from '../lib/results/file-store.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';

const { values } = parseArgs({ options: { storages: { type: 'string', default: '10000' } } });
const count = Number(values.storages);
const dir = await mkdtemp(join(tmpdir(), 'bsf-bench-console-'));
const store = new FileResultsStore(dir);
const config = loadRuntimeConfig({ BSF_STAGE: 'local' });
const deps = () => ({ store, context: { deadline: Deadline.in(60_000), config, log: silentLog } });

const fillStart = performance.now();
for (let start = 0; start < count; start += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, count - start) }, (_, offset) => {
      const n = start + offset;
      const namespace = `team-${n % 50}`;
      return store.record({
        key: `${namespace}/storage-${n}`,
        eventId: `fill-${n}`,
        at: new Date(Date.now() - n * 1000).toISOString(),
        operation: 'check',
        phase: n % 10 === 0 ? 'NotReady' : 'Ready',
        ...(n % 10 === 0 ? { reason: 'Unreachable', message: 'BackendReachable: no answer' } : {}),
        storage: {
          provider: ['s3', 'gcs', 'azure', 'local'][n % 4] as string,
          flavor: 'kubestash',
          kind: 'BackupStorage',
          prefix: '',
          name: `storage-${n}`,
          namespace,
        },
        conditions: [],
      });
    }),
  );
}
const fillMs = performance.now() - fillStart;

async function timed(
  path: string,
  query: Record<string, string> = {},
): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await serveConsole({ method: 'GET', path, query }, deps());
  return { ms: performance.now() - started, bytes: Buffer.byteLength(response.body) };
}

const rows: [string, string][] = [];
const cold = await timed('/console');
rows.push([
  'GET /console, first request',
  `${cold.ms.toFixed(0)} ms (${(cold.bytes / 1024).toFixed(0)} KiB of HTML)`,
]);
const warm: number[] = [];
for (let n = 0; n < 5; n += 1) warm.push((await timed('/console')).ms);
warm.sort((a, b) => a - b);
rows.push(['GET /console, median of 5', `${warm[2]?.toFixed(0)} ms`]);
rows.push(['sorted by status', `${(await timed('/console', { sort: 'status' })).ms.toFixed(0)} ms`]);
rows.push([
  'last page',
  `${(await timed('/console', { page: String(Math.ceil(count / 50)) })).ms.toFixed(0)} ms`,
]);
rows.push([
  'one namespace (of 50)',
  `${(await timed('/console', { namespace: 'team-7' })).ms.toFixed(0)} ms`,
]);

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  serveConsole({ method: 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams) }, deps())
    .then((answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      response.end(answer.body);
    })
    .catch(() => response.end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
const paints: number[] = [];
for (let n = 0; n < 3; n += 1) {
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console`);
  paints.push(
    await page.evaluate<number>(`new Promise((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) return resolve(seen.startTime);
        new PerformanceObserver((list) => resolve(list.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd), 3000);
      })`),
  );
}
paints.sort((a, b) => a - b);
rows.push([
  'first contentful paint in Chromium (median of 3, incl. the server)',
  `${paints[1]?.toFixed(0)} ms`,
]);
await browser.close();
server.close();
await rm(dir, { recursive: true, force: true });

console.log(
  `### Console list page, ${count} storages (file store; filled in ${(fillMs / 1000).toFixed(1)} s)\n`,
);
console.log('| measurement | figure |\n|---|---|');
for (const [what, figure] of rows) console.log(`| ${what} | ${figure} |`);
