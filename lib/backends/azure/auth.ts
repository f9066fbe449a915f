/**
 * Azure account, endpoint and credential: the spec, the secret and options.endpoint read into a service
 * URL, an account and the kind of credential (see store.ts for the order each is looked for in).
 */
import type { TokenCredential } from '@azure/identity';
import type { AzureBackend } from '../../config/backend.js';
import type { SecretBag } from '../../credentials/secret.js';
import { StorageError } from '../errors.js';

const PROVIDER = 'azure';
const PUBLIC_CLOUD_SUFFIX = 'core.windows.net';
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const DNS_SUFFIX = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

export type AzureAuth = 'sharedKey' | 'sas' | 'identity';

/** Where and as whom the store talks: the result of reading the spec, the secret and options.endpoint. */
export interface AzureTarget {
  /** Service URL without any SAS: `https://<account>.blob.<suffix>` or the given endpoint. */
  serviceUrl: string;
  account: string | undefined;
  auth: AzureAuth;
}

function invalidConfig(message: string, hint?: string): StorageError {
  return new StorageError({ code: 'InvalidConfig', provider: PROVIDER, operation: 'connect', message, hint });
}

export function secretValue(credentials: SecretBag, key: string): string | undefined {
  const value = credentials.reveal(key)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The account a full endpoint names: `<account>.blob.<suffix>` hosts, or the first path segment (azurite, Azure Stack IP style). */
function accountFromUrl(url: URL): string | undefined {
  const hostLabel = /^([a-z0-9]+)\.blob\./i.exec(url.hostname)?.[1];
  if (hostLabel) return hostLabel.toLowerCase();
  const firstSegment = url.pathname.split('/').find((segment) => segment !== '');
  return firstSegment ? decodeURIComponent(firstSegment) : undefined;
}

/** Reads spec, secret and options.endpoint into a service URL, an account and the kind of credential. */
export function resolveAzureTarget(
  backend: AzureBackend,
  credentials: SecretBag,
  endpoint?: string,
): AzureTarget {
  const auth: AzureAuth = secretValue(credentials, 'AZURE_ACCOUNT_KEY')
    ? 'sharedKey'
    : secretValue(credentials, 'AZURE_ACCOUNT_SAS')
      ? 'sas'
      : 'identity';
  const named = backend.storageAccount?.trim() || secretValue(credentials, 'AZURE_ACCOUNT_NAME');
  const given = endpoint?.trim();

  if (given !== undefined && given.includes('://')) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw invalidConfig(
        'options.endpoint is not a valid URL',
        'give a URL such as https://<account>.blob.core.windows.net, or a bare suffix such as core.chinacloudapi.cn',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalidConfig(`options.endpoint must be an http or https URL, not ${url.protocol}`);
    if (url.username || url.password || url.search || url.hash) {
      throw invalidConfig(
        'options.endpoint must not carry credentials, a query or a fragment',
        'put a SAS token in the secret as AZURE_ACCOUNT_SAS, and an account key as AZURE_ACCOUNT_KEY',
      );
    }
    const account = named ?? accountFromUrl(url);
    if (auth === 'sharedKey' && !account) {
      throw invalidConfig(
        'AZURE_ACCOUNT_KEY needs an account name',
        'set spec.storage.azure.storageAccount (KubeStash) or AZURE_ACCOUNT_NAME in the secret (Stash)',
      );
    }
    if (auth === 'sas' && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
      throw invalidConfig(
        'a SAS token would travel in cleartext over this http endpoint',
        'use an https endpoint (plain http is accepted only on loopback, for emulators), or AZURE_ACCOUNT_KEY, which only signs requests',
      );
    }
    if (auth === 'identity' && url.protocol !== 'https:') {
      throw invalidConfig(
        'credential-less (Azure identity) access needs an https endpoint',
        'use an https endpoint, or give AZURE_ACCOUNT_KEY or AZURE_ACCOUNT_SAS in the secret',
      );
    }
    return { serviceUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, account, auth };
  }

  const suffix = (given ?? secretValue(credentials, 'AZURE_ENDPOINT_SUFFIX') ?? PUBLIC_CLOUD_SUFFIX)
    .replace(/^\.+|\.+$/g, '')
    .replace(/^blob\./i, '');
  if (!DNS_SUFFIX.test(suffix)) {
    throw invalidConfig(
      `endpoint suffix "${suffix}" is not a DNS name`,
      'give options.endpoint (or AZURE_ENDPOINT_SUFFIX) as a suffix such as core.chinacloudapi.cn, or options.endpoint as a full URL',
    );
  }
  if (!named) {
    throw invalidConfig(
      'no storage account name',
      'set spec.storage.azure.storageAccount (KubeStash) or AZURE_ACCOUNT_NAME in the secret (Stash), or give options.endpoint as a full URL',
    );
  }
  if (!ACCOUNT_NAME.test(named)) {
    throw invalidConfig(
      `storage account name "${named}" is not valid`,
      'an Azure storage account name has 3 to 24 lowercase letters and digits',
    );
  }
  return { serviceUrl: `https://${named}.blob.${suffix.toLowerCase()}`, account: named, auth };
}

/** No secret key at all: DefaultAzureCredential (workload identity, managed identity, AZURE_CLIENT_*), imported only then. */
export async function identityCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}
