/** Kubernetes Secrets as a pod sees them mounted: a folder with one file per key, named by a `dir:` reference. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes `values` into `dir` (created if missing), one file per key; returns its `dir:` reference. */
export async function writeSecret(dir: string, values: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(values).map(([key, value]) => writeFile(join(dir, key), value)));
  return `dir:${dir}`;
}

/** A fresh temporary folder holding `values`; returns its `dir:` reference. */
export async function secretDir(values: Record<string, string>, label = 'secret'): Promise<string> {
  return writeSecret(await mkdtemp(join(tmpdir(), `bsf-${label}-`)), values);
}

export interface SecretsRoot {
  /** The deployment's CREDENTIALS_SOURCE template for this root: `dir:<root>/{namespace}/{name}`. */
  source: string;
  /** Writes the Secret `namespace/name` under the root; returns its `dir:` reference. */
  secret(namespace: string, name: string, values: Record<string, string>): Promise<string>;
}

/** A fresh temporary root of Secrets laid out as `<root>/<namespace>/<name>`. */
export async function secretsRoot(label: string): Promise<SecretsRoot> {
  const root = await mkdtemp(join(tmpdir(), `bsf-${label}-secrets-`));
  return {
    source: `dir:${root}/{namespace}/{name}`,
    secret: (namespace, name, values) => writeSecret(join(root, namespace, name), values),
  };
}
