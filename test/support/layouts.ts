/**
 * Generated KubeStash and Stash storage layouts for the inventory and cleanup tests, with the numbers the
 * inventory must find (bytes, objects and snapshots per repository). Seeded, so every run writes the same
 * shapes; bodies are random bytes of small random sizes, written through a real ObjectStore.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { joinKey, type ObjectStore } from '../../lib/backends/object-store.js';
import { seeded } from './seeded.js';

export interface PlannedObject {
  key: string;
  body: Uint8Array;
}

export interface ExpectedRepository {
  /** As the inventory reports it: `/` + directory relative to the storage prefix. */
  path: string;
  name: string;
  namespace: string;
  kind: 'kubestash' | 'restic';
  bytes: number;
  objects: number;
  snapshotCount: number;
  /** KubeStash: the newest status.snapshotTime written; restic: filled in from the store after writing. */
  newestSnapshotTime?: string;
  /** restic: the key directory of its snapshots/, to read modification times back. */
  snapshotsDir?: string;
}

export interface Layout {
  objects: PlannedObject[];
  repositories: ExpectedRepository[];
  /** Every object under the prefix (repositories + storage metadata + strays). */
  totalObjects: number;
  totalBytes: number;
}

class Builder {
  readonly objects: PlannedObject[] = [];
  readonly #random: () => number;

  constructor(seed: number) {
    this.#random = seeded(seed);
  }

  bytes(min: number, max: number): Uint8Array {
    const length = min + Math.floor(this.#random() * (max - min + 1));
    const body = new Uint8Array(length);
    for (let index = 0; index < length; index += 1) body[index] = Math.floor(this.#random() * 256);
    return body;
  }

  id(): string {
    return createHash('sha256').update(this.bytes(32, 32)).digest('hex');
  }

  add(key: string, body: Uint8Array | string): number {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    this.objects.push({ key, body: bytes });
    return bytes.length;
  }
}

interface Tally {
  bytes: number;
  objects: number;
}

export interface ResticSpec {
  packs: number;
  snapshots: number;
  indexes?: number;
}

/** A restic repository in restic's own layout: config, keys/, data/xx/, index/, snapshots/. */
function addRestic(builder: Builder, root: string, spec: ResticSpec): Tally {
  const tally: Tally = { bytes: 0, objects: 0 };
  const add = (key: string, body: Uint8Array): void => {
    tally.bytes += builder.add(joinKey(root, key), body);
    tally.objects += 1;
  };
  add('config', builder.bytes(150, 160));
  add(`keys/${builder.id()}`, builder.bytes(440, 470));
  for (let index = 0; index < spec.packs; index += 1) {
    const id = builder.id();
    add(`data/${id.slice(0, 2)}/${id}`, builder.bytes(64, 1500));
  }
  for (let index = 0; index < (spec.indexes ?? 3); index += 1)
    add(`index/${builder.id()}`, builder.bytes(200, 900));
  for (let index = 0; index < spec.snapshots; index += 1)
    add(`snapshots/${builder.id()}`, builder.bytes(250, 400));
  return tally;
}

export interface KubeStashRepositorySpec {
  dir: string;
  name: string;
  namespace: string;
  snapshots: number;
  components: { path: string; restic: ResticSpec }[];
}

const BASE_TIME = Date.UTC(2024, 4, 1, 2, 0, 0);

/** A KubeStash BackupStorage: metadata.yaml, then per repository repository.yaml, snapshots/, restic data. */
export function kubestashLayout(prefix: string, repositories: KubeStashRepositorySpec[], seed = 1): Layout {
  const builder = new Builder(seed);
  let totalBytes = 0;
  totalBytes += builder.add(
    joinKey(prefix, 'metadata.yaml'),
    stringify({
      apiVersion: 'config.kubestash.com/v1alpha1',
      kind: 'BackendMeta',
      creationTimestamp: '2024-05-01T00:00:00Z',
    }),
  );
  const expected: ExpectedRepository[] = [];
  for (const [repoIndex, repo] of repositories.entries()) {
    const root = joinKey(prefix, repo.dir);
    let bytes = builder.add(
      joinKey(root, 'repository.yaml'),
      stringify({
        apiVersion: 'storage.kubestash.com/v1alpha1',
        kind: 'Repository',
        metadata: { name: repo.name, namespace: repo.namespace },
        spec: {
          appRef: { kind: 'StatefulSet', name: repo.name, namespace: repo.namespace },
          storageRef: { name: 'storage', namespace: repo.namespace },
          path: `/${repo.dir}`,
          deletionPolicy: 'Delete',
        },
      }),
    );
    let objects = 1;
    // Snapshot times out of upload order, so the newest is only found by reading every YAML.
    let newest = 0;
    for (let index = 0; index < repo.snapshots; index += 1) {
      const time = BASE_TIME + repoIndex * 7 * 86_400_000 + ((index * 7919) % repo.snapshots) * 3_600_000;
      newest = Math.max(newest, time);
      const name = `${repo.name}-frequent-backup-${1714528800 + index}`;
      bytes += builder.add(
        joinKey(root, 'snapshots', `${name}.yaml`),
        stringify({
          apiVersion: 'storage.kubestash.com/v1alpha1',
          kind: 'Snapshot',
          metadata: { name, namespace: repo.namespace },
          spec: {
            snapshotID: builder.id().slice(0, 26).toUpperCase(),
            type: 'FullBackup',
            repository: repo.name,
            version: 'v1',
          },
          status: {
            phase: 'Succeeded',
            snapshotTime: new Date(time).toISOString(),
            totalComponents: repo.components.length,
          },
        }),
      );
      objects += 1;
    }
    for (const component of repo.components) {
      const tally = addRestic(builder, joinKey(root, component.path), component.restic);
      bytes += tally.bytes;
      objects += tally.objects;
    }
    totalBytes += bytes;
    expected.push({
      path: `/${repo.dir}`,
      name: repo.name,
      namespace: repo.namespace,
      kind: 'kubestash',
      bytes,
      objects,
      snapshotCount: repo.snapshots,
      ...(repo.snapshots > 0 ? { newestSnapshotTime: new Date(newest).toISOString() } : {}),
    });
  }
  return {
    objects: builder.objects,
    repositories: expected,
    totalObjects: builder.objects.length,
    totalBytes,
  };
}

/** Stash: restic repositories at the given directories under the prefix (`` = the prefix itself), plus strays. */
export function stashLayout(
  prefix: string,
  repositories: { dir: string; restic: ResticSpec }[],
  options: { name: string; namespace: string; strays?: number },
  seed = 2,
): Layout {
  const builder = new Builder(seed);
  const expected: ExpectedRepository[] = [];
  let totalBytes = 0;
  for (const repo of repositories) {
    const tally = addRestic(builder, joinKey(prefix, repo.dir), repo.restic);
    totalBytes += tally.bytes;
    const segments = repo.dir.split('/').filter(Boolean);
    expected.push({
      path: `/${segments.join('/')}`,
      name: segments.length === 0 ? options.name : segments.join('.'),
      namespace: options.namespace,
      kind: 'restic',
      bytes: tally.bytes,
      objects: tally.objects,
      snapshotCount: repo.restic.snapshots,
      snapshotsDir: `${joinKey(prefix, repo.dir, 'snapshots')}/`,
    });
  }
  for (let index = 0; index < (options.strays ?? 0); index += 1) {
    totalBytes += builder.add(joinKey(prefix, 'notes', `stray-${index}.txt`), builder.bytes(10, 100));
  }
  return {
    objects: builder.objects,
    repositories: expected,
    totalObjects: builder.objects.length,
    totalBytes,
  };
}

/** Writes a layout with `width` puts in flight. */
export async function writeLayout(
  store: ObjectStore,
  objects: readonly PlannedObject[],
  width = 32,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, objects.length) }, async () => {
      while (next < objects.length) {
        const object = objects[next++] as PlannedObject;
        await store.put(object.key, object.body);
      }
    }),
  );
}
