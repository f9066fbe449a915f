/**
 * The create form's provider panels (seed 004 §4.3): for each provider, the Auth fields (keys of the
 * storage Secret, as KubeStash and Stash name them) and the Spec fields (its `spec.storage.<provider>`
 * block). Azure's are the seed's own; the others are their equivalents.
 */
import type { Provider } from '../config/backend.js';
import { isProviderSupported } from '../backends/registry.js';

export interface FormField {
  name: string;
  label: string;
  required?: boolean;
  kind?: 'text' | 'number' | 'checkbox' | 'textarea' | 'select' | 'password';
  options?: readonly string[];
  hint?: string;
}

export interface ProviderForm {
  provider: Provider;
  label: string;
  /** Keys of the storage Secret. */
  auth: readonly FormField[];
  /** Fields of the provider block. */
  spec: readonly FormField[];
  /** KubeStash's block takes `secretName` (the local and rest blocks do not). */
  secretInBlock: boolean;
}

const prefix: FormField = { name: 'prefix', label: 'Prefix', hint: 'e.g. db-backups/' };
const maxConnections: FormField = { name: 'maxConnections', label: 'Max Connections', kind: 'number' };

export const PROVIDER_FORMS: readonly ProviderForm[] = [
  {
    provider: 's3',
    label: 's3 — Amazon S3 or S3-compatible storage',
    secretInBlock: true,
    auth: [
      { name: 'AWS_ACCESS_KEY_ID', label: 'Access Key ID', kind: 'password' },
      { name: 'AWS_SECRET_ACCESS_KEY', label: 'Secret Access Key', kind: 'password' },
      { name: 'CA_CERT_DATA', label: 'CA Certificate (PEM)', kind: 'textarea', hint: 'for a private CA' },
    ],
    spec: [
      { name: 'bucket', label: 'Bucket', required: true },
      { name: 'endpoint', label: 'Endpoint', hint: 'e.g. https://s3.amazonaws.com or a MinIO URL' },
      { name: 'region', label: 'Region' },
      prefix,
      { name: 'insecureTLS', label: 'Insecure TLS', kind: 'checkbox' },
      maxConnections,
    ],
  },
  {
    provider: 'gcs',
    label: 'gcs — Google Cloud Storage',
    secretInBlock: true,
    auth: [
      { name: 'GOOGLE_PROJECT_ID', label: 'Project ID', kind: 'password' },
      { name: 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY', label: 'Service Account JSON Key', kind: 'textarea' },
    ],
    spec: [{ name: 'bucket', label: 'Bucket', required: true }, prefix, maxConnections],
  },
  {
    provider: 'azure',
    label: 'azure — Microsoft Azure Blob Storage',
    secretInBlock: true,
    auth: [
      { name: 'AZURE_ACCOUNT_KEY', label: 'Account Key', required: true, kind: 'password' },
      { name: 'AZURE_ACCOUNT_NAME', label: 'Account Name', required: true, kind: 'password' },
    ],
    spec: [{ name: 'container', label: 'Container', required: true }, maxConnections, prefix],
  },
  {
    provider: 'swift',
    label: 'swift — OpenStack Swift',
    secretInBlock: true,
    auth: [
      { name: 'ST_AUTH', label: 'Auth URL (v1, ST_AUTH)', kind: 'password' },
      { name: 'ST_USER', label: 'User (ST_USER)', kind: 'password' },
      { name: 'ST_KEY', label: 'Key (ST_KEY)', kind: 'password' },
      { name: 'OS_AUTH_URL', label: 'Keystone URL (OS_AUTH_URL)', kind: 'password' },
      { name: 'OS_USERNAME', label: 'Username (OS_USERNAME)', kind: 'password' },
      { name: 'OS_PASSWORD', label: 'Password (OS_PASSWORD)', kind: 'password' },
      { name: 'OS_PROJECT_NAME', label: 'Project (OS_PROJECT_NAME)', kind: 'password' },
      { name: 'OS_REGION_NAME', label: 'Region (OS_REGION_NAME)', kind: 'password' },
    ],
    spec: [{ name: 'container', label: 'Container', required: true }, prefix],
  },
  {
    provider: 'b2',
    label: 'b2 — Backblaze B2',
    secretInBlock: true,
    auth: [
      { name: 'B2_ACCOUNT_ID', label: 'Account ID / Key ID', required: true, kind: 'password' },
      { name: 'B2_ACCOUNT_KEY', label: 'Application Key', required: true, kind: 'password' },
    ],
    spec: [{ name: 'bucket', label: 'Bucket', required: true }, prefix, maxConnections],
  },
  {
    provider: 'local',
    label: 'local — a volume (PVC, hostPath, NFS)',
    secretInBlock: false,
    auth: [],
    spec: [
      {
        name: 'mountPath',
        label: 'Mount Path',
        required: true,
        hint: 'where the volume is mounted, e.g. /safe/data',
      },
      { name: 'subPath', label: 'Sub Path', hint: 'directory inside the volume' },
      {
        name: 'volume',
        label: 'Volume',
        kind: 'select',
        options: ['persistentVolumeClaim', 'hostPath', 'nfs'],
      },
      { name: 'claimName', label: 'Claim Name', hint: 'persistentVolumeClaim' },
      { name: 'volumePath', label: 'Path', hint: 'hostPath or NFS export path' },
      { name: 'server', label: 'NFS Server', hint: 'nfs' },
    ],
  },
  {
    provider: 'rest',
    label: 'rest — restic REST server',
    secretInBlock: false,
    auth: [
      { name: 'REST_SERVER_USERNAME', label: 'Username', kind: 'password' },
      { name: 'REST_SERVER_PASSWORD', label: 'Password', kind: 'password' },
    ],
    spec: [{ name: 'url', label: 'URL', required: true, hint: 'e.g. https://rest.example.com/repo' }],
  },
];

/** The panels this deployment offers: rest only where its adapter is built in. */
export function providerForms(): ProviderForm[] {
  return PROVIDER_FORMS.filter((form) => form.provider !== 'rest' || isProviderSupported('rest'));
}
