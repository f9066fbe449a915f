/**
 * Create BackupStorage (seed 004 §4, §5): the form, its manifest and Secret, and the preview.
 *
 * Typed secret values are the user's own: read from the POSTed form into a SecretBag for one call
 * ("Test connection", "Initialize"), never stored, logged, or written back into the page. The preview
 * shows the Secret as a `kubectl create secret` command with `"$KEY"` placeholders (Copy fills them in
 * the browser from the form, so the values never make a round trip).
 */
import { stringify } from 'yaml';
import { RequestError } from '../config/request-error.js';
import { PROVIDERS, type Provider } from '../config/backend.js';
import { parseStorage } from '../config/manifests.js';
import { SecretBag } from '../credentials/secret.js';
import type { OperationResult } from '../status/result.js';
import { markup, type Html } from './html.js';
import { detailPath } from './paths.js';
import { providerForms, type FormField, type ProviderForm } from './providers.js';

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface CreateForm {
  namespace: string;
  name: string;
  deletionPolicy: 'Delete' | 'WipeOut';
  provider: Provider;
  secretName: string;
  labels: string;
  annotations: string;
  /** Spec field values of the chosen provider (never secrets). */
  spec: Record<string, string>;
}

export interface ParsedForm {
  form: CreateForm;
  /** The typed Secret values, wrapped: they print as **redacted**. */
  secrets: SecretBag;
  problems: string[];
}

function field(values: URLSearchParams, name: string): string {
  return (values.get(name) ?? '').trim();
}

function keyValues(text: string, what: string, problems: string[]): Record<string, string> | undefined {
  const entries: [string, string][] = [];
  for (const line of text
    .split('\n')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const at = line.indexOf('=');
    if (at <= 0) problems.push(`${what}: "${line}" is not key=value`);
    else entries.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

export function providerFormOf(provider: string): ProviderForm {
  return providerForms().find((form) => form.provider === provider) ?? (providerForms()[0] as ProviderForm);
}

export function defaultForm(provider?: string): CreateForm {
  return {
    namespace: 'demo',
    name: '',
    deletionPolicy: 'Delete',
    provider: providerFormOf(provider ?? 's3').provider,
    secretName: '',
    labels: '',
    annotations: '',
    spec: {},
  };
}

/** The POSTed form → the form's fields (secrets apart, in a bag) and what is missing or malformed. */
export function parseCreateForm(values: URLSearchParams): ParsedForm {
  const problems: string[] = [];
  const providerText = field(values, 'provider');
  const provider = (PROVIDERS as readonly string[]).includes(providerText)
    ? (providerText as Provider)
    : 's3';
  const panel = providerFormOf(provider);
  const form: CreateForm = {
    namespace: field(values, 'namespace'),
    name: field(values, 'name'),
    deletionPolicy: field(values, 'deletionPolicy') === 'WipeOut' ? 'WipeOut' : 'Delete',
    provider: panel.provider,
    secretName: field(values, `secretName.${panel.provider}`),
    labels: values.get('labels') ?? '',
    annotations: values.get('annotations') ?? '',
    spec: Object.fromEntries(
      panel.spec.flatMap((spec) => {
        const value = field(values, `spec.${panel.provider}.${spec.name}`);
        return value ? [[spec.name, value] as [string, string]] : [];
      }),
    ),
  };
  if (!DNS_NAME.test(form.namespace))
    problems.push('Namespace must be a Kubernetes name (lowercase letters, digits, "-")');
  if (!DNS_NAME.test(form.name))
    problems.push('Name must be a Kubernetes name (lowercase letters, digits, "-")');
  if (panel.auth.length > 0 && form.secretName && !DNS_NAME.test(form.secretName))
    problems.push('Secret Name must be a Kubernetes name');
  for (const spec of panel.spec) {
    if (spec.required && !form.spec[spec.name]) problems.push(`${spec.label} is required`);
  }
  const entries: [string, string][] = panel.auth.flatMap((auth) => {
    const value = values.get(`auth.${auth.name}`) ?? '';
    return value.trim()
      ? [[auth.name, auth.kind === 'textarea' ? value : value.trim()] as [string, string]]
      : [];
  });
  return { form, secrets: new SecretBag(entries, 'the console form'), problems };
}

function secretNameOf(form: CreateForm): string {
  return form.secretName || `${form.name || 'storage'}-secret`;
}

function providerBlock(form: CreateForm, panel: ProviderForm): Record<string, unknown> {
  const block: Record<string, unknown> = {};
  if (panel.provider === 'local') {
    const { mountPath, subPath, volume, claimName, volumePath, server } = form.spec;
    if (mountPath) block.mountPath = mountPath;
    if (subPath) block.subPath = subPath;
    if (volume === 'hostPath') block.hostPath = { path: volumePath || mountPath || '/' };
    else if (volume === 'nfs') block.nfs = { server: server ?? '', path: volumePath || '/' };
    else if (claimName) block.persistentVolumeClaim = { claimName };
    return block;
  }
  for (const spec of panel.spec) {
    const value = form.spec[spec.name];
    if (value === undefined || value === '') continue;
    if (spec.kind === 'number') block[spec.name] = Number(value);
    else if (spec.kind === 'checkbox') block[spec.name] = true;
    else block[spec.name] = value;
  }
  if (panel.secretInBlock) block.secretName = secretNameOf(form);
  return block;
}

/** The BackupStorage manifest the form describes. */
export function manifestOf(form: CreateForm): Record<string, unknown> {
  const panel = providerFormOf(form.provider);
  const ignored: string[] = [];
  const labels = keyValues(form.labels, 'Labels', ignored);
  const annotations = keyValues(form.annotations, 'Annotations', ignored);
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: {
      name: form.name,
      namespace: form.namespace,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      storage: { provider: panel.provider, [panel.provider]: providerBlock(form, panel) },
      usagePolicy: { allowedNamespaces: { from: 'Same' } },
      deletionPolicy: form.deletionPolicy,
    },
  };
}

/** `kubectl create secret generic …` with a `"$KEY"` placeholder per key: the command, never the values. */
export function secretCommand(form: CreateForm, typed: readonly string[]): string | undefined {
  const panel = providerFormOf(form.provider);
  if (panel.auth.length === 0) return undefined;
  const keys = typed.length > 0 ? typed : panel.auth.filter((auth) => auth.required).map((auth) => auth.name);
  const shown = keys.length > 0 ? keys : panel.auth.map((auth) => auth.name);
  return [
    `kubectl create secret generic ${secretNameOf(form)} --namespace ${form.namespace || 'default'}`,
    ...shown.map((key) => `  --from-literal=${key}="$${key}"`),
  ].join(' \\\n');
}

/** Every problem of the form, the project's own parser's included (the preview must parse to the storage). */
export function validate(parsed: ParsedForm): string[] {
  const problems = [...parsed.problems];
  keyValues(parsed.form.labels, 'Labels', problems);
  keyValues(parsed.form.annotations, 'Annotations', problems);
  if (problems.length === 0) {
    try {
      parseStorage(manifestOf(parsed.form), ['storage']);
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      problems.push(
        ...(error.issues.length > 0 ? error.issues.map((i) => `${i.path}: ${i.message}`) : [error.message]),
      );
    }
  }
  return problems;
}

function input(panel: ProviderForm, spec: FormField, value: string | undefined): Html {
  const id = `spec-${panel.provider}-${spec.name}`;
  const name = `spec.${panel.provider}.${spec.name}`;
  const label = markup`<label for="${id}"
    >${spec.label}${spec.required ? markup` <span aria-hidden="true">*</span>` : ''}${spec.hint ? markup` <span class="hint">${spec.hint}</span>` : ''}</label
  >`;
  if (spec.kind === 'select')
    return markup`<div>
      ${label}<select id="${id}" name="${name}">
        ${(spec.options ?? []).map((option) => markup`<option${option === value ? markup` selected` : ''}>${option}</option>`)}
      </select>
    </div>`;
  if (spec.kind === 'checkbox')
    return markup`<div>
      ${label}<input type="checkbox" id="${id}" name="${name}" value="true" ${value ? markup` checked` : ''} />
    </div>`;
  return markup`<div>
    ${label}<input
      id="${id}"
      name="${name}"
      ${spec.kind === 'number' ? markup`type="number" min="1"` : markup`type="text"`}
      value="${value ?? ''}"
      ${spec.required ? markup` required aria-required="true"` : ''}
    />
  </div>`;
}

function secretInput(auth: FormField): Html {
  const id = `auth-${auth.name}`;
  const label = markup`<label for="${id}"
    >${auth.label}${auth.required ? markup` <span aria-hidden="true">*</span>` : ''}
    <span class="hint">${auth.name}</span></label
  >`;
  // Never a value: typed secrets are not sent back (autocomplete off keeps the browser from keeping them).
  if (auth.kind === 'textarea')
    return markup`<div>
      ${label}<textarea id="${id}" name="auth.${auth.name}" autocomplete="off" spellcheck="false"></textarea>
    </div>`;
  return markup`<div>
    ${label}<input type="password" id="${id}" name="auth.${auth.name}" autocomplete="off" />
  </div>`;
}

function panelOf(panel: ProviderForm, form: CreateForm): Html {
  const values = panel.provider === form.provider ? form.spec : {};
  return markup`<fieldset
    class="provider${panel.provider === form.provider ? ' selected' : ''}"
    data-provider="${panel.provider}"
  >
    <legend>${panel.provider}</legend>
    ${
      panel.auth.length > 0
        ? markup`<fieldset>
            <legend>Auth</legend>
            <div class="grid">
              <div>
                <label for="secretName-${panel.provider}"
                  >Secret Name <span class="hint">the Kubernetes Secret holding these keys</span></label
                ><input
                  id="secretName-${panel.provider}"
                  name="secretName.${panel.provider}"
                  value="${panel.provider === form.provider ? form.secretName : ''}"
                  placeholder="${secretNameOf(form)}"
                />
              </div>
              ${panel.auth.map(secretInput)}
            </div>
            <p class="hint">
              Typed values are used for Test connection and Initialize only, for that one call; they are never
              stored, logged or shown again.
            </p>
          </fieldset>`
        : ''
    }
    <fieldset>
      <legend>Spec</legend>
      <div class="grid">${panel.spec.map((spec) => input(panel, spec, values[spec.name]))}</div>
    </fieldset>
  </fieldset>`;
}

export interface CreatePageOptions {
  problems?: string[];
  preview?: boolean;
  /** Keys the user typed a value for (names only). */
  typedKeys?: readonly string[];
  result?: OperationResult;
  canInitialize: boolean;
}

function resultOf(result: OperationResult): Html {
  const failing = result.status.conditions.filter((condition) => condition.status !== 'True');
  const what = result.operation === 'check' ? 'Test connection' : 'Initialize';
  return markup`<section class="result" role="status" aria-labelledby="result-title">
    <h2 id="result-title">
      ${what}: <span class="phase ${result.status.phase}">${result.status.phase}</span>
    </h2>
    ${
      failing.length === 0
        ? markup`<p>Every condition is True.</p>`
        : markup`<ul>
            ${failing.map((condition) => markup`<li><strong>${condition.type}</strong> <span class="reason">${condition.reason}</span>: ${condition.message}${condition.hint ? markup` <span class="hint">— ${condition.hint}</span>` : ''}</li>`)}
          </ul>`
    }
    ${result.operation === 'initialize' && result.status.phase === 'Ready' ? markup`<p><a href="${detailPath({ key: `${result.storage.namespace ?? 'default'}/${result.storage.name ?? ''}`, namespace: result.storage.namespace ?? 'default', name: result.storage.name ?? '' })}">Open the storage</a></p>` : ''}
  </section>`;
}

function previewOf(form: CreateForm, typedKeys: readonly string[]): Html {
  const manifest = manifestOf(form);
  const command = secretCommand(form, typedKeys);
  return markup`<section class="preview" aria-labelledby="preview-title">
    <h2 id="preview-title">Preview</h2>
    <input class="format" type="radio" name="format" id="format-yaml" value="yaml" checked />
    <input class="format" type="radio" name="format" id="format-json" value="json" />
    <div class="tabs" role="group" aria-label="Format">
      <label for="format-yaml">YAML</label><label for="format-json">JSON</label>
    </div>
    <div class="yaml">
      <pre id="manifest-yaml" aria-label="BackupStorage manifest (YAML)">${stringify(manifest)}</pre>
    </div>
    <div class="json">
      <pre id="manifest-json" aria-label="BackupStorage manifest (JSON)">${JSON.stringify(manifest, null, 2)}</pre>
    </div>
    <button type="button" class="secondary" data-copy="manifest-{format}">Copy</button>
    ${
      command
        ? markup`<h3>Secret</h3>
            <pre id="secret-command" aria-label="Secret command">${command}</pre>
            <button type="button" class="secondary" data-copy="secret-command">Copy</button>`
        : ''
    }
  </section>`;
}

export function renderCreate(form: CreateForm, options: CreatePageOptions): Html {
  const problems = options.problems ?? [];
  return markup`<nav aria-label="Breadcrumb"><a href="/console">BackupStorages</a> / Create</nav>
<h1>Create BackupStorage</h1>
${
  problems.length > 0
    ? markup`<div class="error" role="alert">
        <strong>Please fix:</strong>
        <ul>
          ${problems.map((problem) => markup`<li>${problem}</li>`)}
        </ul>
      </div>`
    : ''
}
${options.result ? resultOf(options.result) : ''}
<form method="post" action="/console/new" novalidate>
<fieldset><legend>Basic Information</legend><div class="grid">
<div><label for="namespace">Namespace <span aria-hidden="true">*</span></label><input id="namespace" name="namespace" value="${form.namespace}" required aria-required="true"></div>
<div><label for="name">Name <span aria-hidden="true">*</span></label><input id="name" name="name" value="${form.name}" required aria-required="true" placeholder="s3-backup"></div>
<div><label for="deletionPolicy">Deletion Policy <span aria-hidden="true">*</span></label><select id="deletionPolicy" name="deletionPolicy">
<option value="Delete"${form.deletionPolicy === 'Delete' ? markup` selected` : ''}>Delete (keep the backed up data)</option>
<option value="WipeOut"${form.deletionPolicy === 'WipeOut' ? markup` selected` : ''}>WipeOut (delete the backed up data too)</option>
</select></div>
</div></fieldset>
<details${form.labels || form.annotations ? markup` open` : ''}><summary>Labels &amp; Annotations</summary><fieldset><div class="grid">
<div><label for="labels">Labels <span class="hint">key=value, one a line</span></label><textarea id="labels" name="labels">${form.labels}</textarea></div>
<div><label for="annotations">Annotations <span class="hint">key=value, one a line</span></label><textarea id="annotations" name="annotations">${form.annotations}</textarea></div>
</div></fieldset></details>
<fieldset><legend>Backend</legend>
<label for="provider">Provider</label>
<select id="provider" name="provider">${providerForms().map((panel) => markup`<option value="${panel.provider}" ${panel.provider === form.provider ? markup` selected` : ''}>${panel.label}</option>`)}</select>
<p class="hint">Fill in the panel of the chosen provider; the others are ignored.</p>
${providerForms().map((panel) => panelOf(panel, form))}
</fieldset>
<div class="actions">
<button type="submit" name="action" value="preview">Preview</button>
<button type="submit" name="action" value="test" class="secondary">Test connection</button>
${options.canInitialize ? markup`<button type="submit" name="action" value="initialize" class="secondary">Initialize</button>` : ''}
</div>
${options.preview && problems.length === 0 ? previewOf(form, options.typedKeys ?? []) : ''}
</form>`;
}
