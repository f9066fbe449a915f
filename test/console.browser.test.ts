/**
 * The console in Debian's chromium (playwright-core, no browser download) against a results store filled
 * by a real fleet run: local storages (Ready, never initialized, one with KubeStash repositories) and an
 * S3 storage on s3rver. List → detail → Check now, the namespace filter and sorting, the create form for
 * every provider with its YAML/JSON preview (parsed back by the project's own parser), Test connection
 * with typed keys that never come back, keyboard focus and labels. Screenshots go to test-output/console/;
 * the README's two are refreshed in docs/img/ only with UPDATE_DOCS_IMAGES=1 (a test run leaves the
 * checkout as it found it).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseStorage } from '../lib/config/manifests.js';
import { loggingObserver } from '../lib/fleet/metrics.js';
import { runFleet } from '../lib/fleet/run.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { launchChromium, serveHandler, type ConsoleServer } from './support/browser.js';
import { kubestashLayout } from './support/layouts.js';
import { secretsRoot } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'test-output', 'console');
const s3 = serverInfo('s3rver');
const work = await mkdtemp(join(tmpdir(), 'bsf-console-'));
const volume = join(work, 'volume');
const { source, secret } = await secretsRoot('console');
process.env.CREDENTIALS_SOURCE = source;
process.env.RESULTS_STORE = `file:${join(work, 'results')}`;
process.env.FLEET_FANOUT_THRESHOLD = '1000';
const runtime = loadRuntimeConfig();
const { handler } = await import('../functions/console.js');

const context = () => ({ deadline: Deadline.in(30_000), config: runtime, log: silentLog });

function backupStorage(
  name: string,
  namespace: string,
  storage: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: {
      name,
      namespace,
      uid: crypto.randomUUID(),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { team: namespace, tier: 'backup' },
      ...extra,
    },
    spec: { storage, deletionPolicy: 'Delete' },
  };
}
const local = (subPath: string) => ({
  provider: 'local',
  local: { mountPath: volume, subPath, persistentVolumeClaim: { claimName: 'backup-pvc' } },
});

let server: ConsoleServer;
let browser: Browser;
let page: Page;
const s3Storage = backupStorage(
  's3-backup',
  'prod',
  {
    provider: 's3',
    s3: { bucket: s3.bucket, prefix: `console-${Date.now()}`, region: 'us-east-1', secretName: 's3-secret' },
  },
  { annotations: { 'backupstorage-functions.io/endpoint': s3.endpoint as string } },
);

const squash = (text: string | null): string => (text ?? '').replace(/\s+/g, ' ').trim();

async function shot(name: string, ...docsImages: string[]): Promise<void> {
  await mkdir(output, { recursive: true });
  const image = await page.screenshot({ fullPage: true });
  await writeFile(join(output, `${name}.png`), image);
  if (process.env.UPDATE_DOCS_IMAGES !== '1') return;
  for (const path of docsImages) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, image);
  }
}

beforeAll(async () => {
  await secret('prod', 's3-secret', {
    AWS_ACCESS_KEY_ID: s3.accessKeyId as string,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey as string,
  });
  const ready = ['orders', 'billing', 'search'].map((name) =>
    backupStorage(name, 'demo', local(`demo/${name}`)),
  );
  const withRepositories = backupStorage('postgres', 'demo', local('demo/postgres'));
  for (const item of [...ready, withRepositories, s3Storage]) {
    const endpoint =
      item === s3Storage
        ? { options: { endpoint: s3.endpoint, createBucket: true } }
        : { options: { createBucket: true } };
    const result = await runOperation('initialize', { storage: item, ...endpoint }, context(), {
      results: undefined,
    });
    expect(result.status.phase).toBe('Ready');
  }
  // KubeStash repositories with snapshots inside one storage, for the detail page's Repositories table.
  const layout = kubestashLayout('', [
    { dir: 'demo/postgres-main', name: 'postgres-main', namespace: 'demo', snapshots: 3, components: [] },
    { dir: 'demo/postgres-wal', name: 'postgres-wal', namespace: 'demo', snapshots: 5, components: [] },
  ]);
  for (const object of layout.objects.filter((o) => o.key !== 'metadata.yaml')) {
    const path = join(volume, 'demo/postgres', object.key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, object.body);
  }
  const broken = ['nightly', 'archive'].map((name) =>
    backupStorage(name, 'team-a', local(`missing/${name}`)),
  );
  const fleetFile = join(work, 'fleet.yaml');
  await writeFile(
    fleetFile,
    stringify({ apiVersion: 'v1', kind: 'List', items: [...ready, withRepositories, s3Storage, ...broken] }),
  );
  const fleet = await runFleet({
    source: `file:${fleetFile}`,
    fleet: { concurrency: 4, fanoutThreshold: 1000, entryTimeoutMs: 20_000, scheduleRateMs: 900_000 },
    runtime,
    deadline: Deadline.in(60_000),
    log: silentLog,
    observer: loggingObserver(silentLog),
  });
  expect(fleet.summary.byPhase).toEqual({ Ready: 5, NotReady: 2 });
  const inventory = await runOperation('inventory', { storage: withRepositories }, context());
  expect(inventory.status.phase).toBe('Ready');
  server = await serveHandler(handler as (event: unknown, context: unknown) => Promise<unknown>);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('console in chromium', () => {
  it('lists every storage of the fleet run with its phase, reason and recent checks', async () => {
    const response = await page.goto(`${server.url}/console`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'; style-src 'sha256-/);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(7);
    const headers = await page.locator('thead th').allTextContents();
    expect(headers.map((h) => h.replace(/[▲▼]/g, '').trim())).toEqual([
      'Name',
      'Namespace',
      'Provider',
      'Size',
      'No. of Connected Repositories',
      'Status',
      'Age',
      'Last checked',
      'Recent checks',
    ]);
    const nightly = page.locator('tr', { has: page.locator('a', { hasText: 'nightly' }) });
    await expect.poll(() => nightly.locator('.phase').textContent()).toBe('NotReady');
    expect(await nightly.locator('.reason').textContent()).toBe('NotFound');
    const postgres = page.locator('tr', { has: page.locator('a', { hasText: 'postgres' }) });
    expect((await postgres.locator('td').nth(4).textContent())?.trim()).toBe('2');
    expect(await page.locator('.bar[role=img]').first().getAttribute('aria-label')).toMatch(
      /of the last \d+ checks Ready/,
    );
    // No console errors from the page's own script under its CSP.
    await shot('list', join(root, 'docs', 'img', 'console-list.png'));
  });

  it('filters by namespace (the select applies on change) and sorts by status, NotReady first', async () => {
    await page.goto(`${server.url}/console`);
    await Promise.all([
      page.waitForURL(/namespace=team-a/),
      page.selectOption('#namespace-filter', 'team-a'),
    ]);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.goto(`${server.url}/console`);
    await page.click('thead th a:text("Status")');
    await page.waitForURL(/sort=status/);
    expect(await page.locator('tbody tr').first().locator('.phase').textContent()).toBe('NotReady');
    expect(await page.locator('th[aria-sort=ascending]').textContent()).toContain('Status');
  });

  it('reaches the storages by keyboard, with a visible focus', async () => {
    await page.goto(`${server.url}/console`);
    const focused: string[] = [];
    for (let n = 0; n < 40 && !focused.some((text) => text.startsWith('storage:')); n += 1) {
      await page.keyboard.press('Tab');
      focused.push(
        await page.evaluate<string>(`(() => {
          const element = document.activeElement;
          const inBody = element && element.closest('tbody') ? 'storage:' : '';
          return inBody + (element ? element.tagName : '') + ':' + (element && element.textContent ? element.textContent.trim() : '');
        })()`),
      );
    }
    const first = focused.find((text) => text.startsWith('storage:'));
    expect(first).toMatch(/^storage:A:/);
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).toBe('solid');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/[^/]+\/[^/]+$/);
  });

  it('shows a storage: Basic, conditions with hints, repositories, transitions; Check now records a check', async () => {
    await page.goto(`${server.url}/console/demo/postgres`);
    const basic = await page.locator('dl.basic').textContent();
    for (const term of ['Name', 'Namespace', 'Labels', 'Annotations', 'UID', 'Provider', 'Status'])
      expect(basic).toContain(term);
    expect(basic).toContain('team=demo');
    const repositories = page.locator('table[aria-labelledby=repositories] tbody tr');
    expect(await repositories.count()).toBe(2);
    expect(await repositories.first().locator('td').nth(3).textContent()).toBe('3');
    await shot('detail', join(root, 'docs', 'img', 'console-detail.png'));

    await page.goto(`${server.url}/console`);
    await page.click('a:text-is("nightly")');
    await page.waitForURL(/\/console\/team-a\/nightly$/);
    const hints = await page.locator('table[aria-labelledby=conditions] tbody tr').allTextContents();
    expect(hints.join('\n')).toMatch(/NotFound[\s\S]*initialize/);
    const before = await page.locator('ol.timeline li').count();
    expect(before).toBe(1);
    await page.click('button:text("Check now")');
    await page.waitForURL(/checked=1/);
    expect(await page.locator('[role=status]').textContent()).toContain('Checked just now');
    expect(await page.locator('form.actions .muted').textContent()).toMatch(
      /^Last checked \d+s ago \(check\)/,
    );
    // Still NotReady: no new transition in the timeline, but a new check in the strip on the list.
    expect(await page.locator('ol.timeline li').count()).toBe(1);
    await shot('detail-after-check');
  });

  const providers: Record<string, { spec: Record<string, string>; auth: Record<string, string> }> = {
    s3: {
      spec: {
        bucket: s3.bucket as string,
        endpoint: s3.endpoint as string,
        region: 'us-east-1',
        prefix: 'from-console',
      },
      auth: { AWS_ACCESS_KEY_ID: s3.accessKeyId as string, AWS_SECRET_ACCESS_KEY: 'typed-secret-value-1234' },
    },
    gcs: { spec: { bucket: 'gcs-bucket', prefix: 'db' }, auth: { GOOGLE_PROJECT_ID: 'p' } },
    azure: {
      spec: { container: 'backups', maxConnections: '8', prefix: 'db-backups' },
      auth: { AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'k' },
    },
    swift: { spec: { container: 'swift-c', prefix: 'p' }, auth: { ST_USER: 'u' } },
    b2: {
      spec: { bucket: 'b2-bucket', maxConnections: '4' },
      auth: { B2_ACCOUNT_ID: 'i', B2_ACCOUNT_KEY: 'k' },
    },
    local: { spec: { mountPath: '/safe/data', subPath: 'demo/new', claimName: 'backup-pvc' }, auth: {} },
  };

  for (const [provider, values] of Object.entries(providers)) {
    it(`creates a ${provider} BackupStorage: preview in YAML and JSON parses to the same storage`, async () => {
      await page.goto(`${server.url}/console/new`);
      await page.selectOption('#provider', provider);
      // With JavaScript only the chosen provider's panel shows.
      expect(await page.locator('fieldset.provider:visible').count()).toBe(1);
      await page.fill('#namespace', 'demo');
      await page.fill('#name', `new-${provider}`);
      await page.click('summary:text("Labels & Annotations")');
      await page.fill('#labels', 'team=demo');
      for (const [name, value] of Object.entries(values.spec))
        await page.fill(`#spec-${provider}-${name}`, value);
      for (const [name, value] of Object.entries(values.auth)) await page.fill(`#auth-${name}`, value);
      await page.click('button[value=preview]');
      await page.waitForSelector('#manifest-yaml');
      expect(await page.locator('#manifest-yaml').isVisible()).toBe(true);
      expect(await page.locator('#manifest-json').isVisible()).toBe(false);
      await page.click('label[for=format-json]');
      expect(await page.locator('#manifest-json').isVisible()).toBe(true);
      expect(await page.locator('#manifest-yaml').isVisible()).toBe(false);
      const yamlText = (await page.locator('#manifest-yaml').textContent()) ?? '';
      const jsonText = (await page.locator('#manifest-json').textContent()) ?? '';
      const fromYaml = parseStorage(yamlText);
      expect(parseStorage(JSON.parse(jsonText))).toEqual(fromYaml);
      expect(fromYaml).toMatchObject({ name: `new-${provider}`, namespace: 'demo', backend: { provider } });
      for (const [name, value] of Object.entries(values.spec).filter(
        ([name]) => !['claimName', 'subPath', 'prefix'].includes(name),
      ))
        expect((fromYaml.backend as unknown as Record<string, unknown>)[name]).toEqual(
          name === 'maxConnections' ? Number(value) : value,
        );
      const html = await page.content();
      for (const value of Object.values(values.auth)) if (value.length > 3) expect(html).not.toContain(value);
      if (Object.keys(values.auth).length > 0) {
        const command = (await page.locator('#secret-command').textContent()) ?? '';
        expect(command).toContain(`kubectl create secret generic new-${provider}-secret --namespace demo`);
        for (const key of Object.keys(values.auth))
          expect(command).toContain(`--from-literal=${key}="$${key}"`);
      }
      if (provider === 'azure') await shot('create-azure');
    });
  }

  it('initializes and tests the connection with typed keys (s3rver), which are never sent back', async () => {
    const fill = async (): Promise<void> => {
      await page.selectOption('#provider', 's3');
      await page.fill('#namespace', 'prod');
      await page.fill('#name', 'typed');
      await page.fill('#spec-s3-bucket', s3.bucket as string);
      await page.fill('#spec-s3-endpoint', s3.endpoint as string);
      await page.fill('#spec-s3-region', 'us-east-1');
      await page.fill('#spec-s3-prefix', `typed-${Date.now()}`);
      await page.fill('#auth-AWS_ACCESS_KEY_ID', s3.accessKeyId as string);
      await page.fill('#auth-AWS_SECRET_ACCESS_KEY', 'typed-secret-value-5678');
    };
    await page.goto(`${server.url}/console/new`);
    await fill();
    await page.click('button[value=initialize]');
    await page.waitForSelector('#result-title');
    expect(squash(await page.locator('#result-title').textContent())).toBe('Initialize: Ready');
    expect(await page.content()).not.toContain('typed-secret-value-5678');
    expect(await page.inputValue('#auth-AWS_SECRET_ACCESS_KEY')).toBe('');
    // The form keeps what is not secret; the keys are typed again for the next call.
    const prefix = await page.inputValue('#spec-s3-prefix');
    await page.fill('#auth-AWS_ACCESS_KEY_ID', s3.accessKeyId as string);
    await page.fill('#auth-AWS_SECRET_ACCESS_KEY', 'typed-secret-value-5678');
    await page.click('button[value=test]');
    await page.waitForSelector('#result-title');
    expect(squash(await page.locator('#result-title').textContent())).toBe('Test connection: Ready');
    expect(await page.inputValue('#spec-s3-prefix')).toBe(prefix);
    expect(await page.content()).not.toContain('typed-secret-value-5678');
    await shot('test-connection');
    // Initialize was recorded: the storage is in the list now.
    await page.goto(`${server.url}/console/prod/typed`);
    expect(await page.locator('h1 .phase').textContent()).toBe('Ready');
  });

  it('labels every form control of the create page', async () => {
    await page.goto(`${server.url}/console/new`);
    const unlabeled = await page.evaluate<string[]>(`[...document.querySelectorAll(
      'input:not([type=hidden]):not(.format), select, textarea',
    )].filter((element) => element.labels.length === 0).map((element) => element.getAttribute('name'))`);
    expect(unlabeled).toEqual([]);
  });
});
