/**
 * The Azure adapter's pure parts: the one error table (fed the shapes @azure/storage-blob and
 * @azure/identity throw, as observed against azurite and documented by Azure) and the reading of
 * account, endpoint and credential kind from spec, secret and options.endpoint.
 */
import { describe, expect, it } from 'vitest';
import { RestError } from '@azure/storage-blob';
import { resolveAzureTarget } from '../lib/backends/azure/auth.js';
import { azureError } from '../lib/backends/azure/errors.js';
import type { AzureBackend } from '../lib/config/backend.js';
import { SecretBag } from '../lib/credentials/secret.js';

const KEY = 'Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMDEyMzQ1Njc4OWFiY2RlZg==';
const SIG = 'c2lnbmF0dXJlLW9mLWEtc2FzLXRva2VuLTAxMjM0NTY3ODk=';

function restError(statusCode: number, errorCode: string, message = 'service text'): RestError {
  const error = new RestError(
    `${message}\n<?xml version="1.0"?><Error><Code>${errorCode}</Code></Error> ...&sig=${SIG}`,
    {
      statusCode,
      code: errorCode,
    },
  );
  error.details = { errorCode, message };
  return error;
}

const put = {
  operation: 'put' as const,
  key: 'prefix/object',
  host: 'acct.blob.core.windows.net',
  auth: 'sas' as const,
};

describe('azureError (the Azure error table)', () => {
  it.each([
    [403, 'AuthenticationFailed', 'Unauthenticated'],
    [403, 'InvalidAuthenticationInfo', 'Unauthenticated'],
    [401, 'NoAuthenticationInformation', 'Unauthenticated'],
    [403, 'AuthorizationPermissionMismatch', 'PermissionDenied'],
    [403, 'AuthorizationResourceTypeMismatch', 'PermissionDenied'],
    [403, 'AuthorizationSourceIPMismatch', 'PermissionDenied'],
    [403, 'AccountIsDisabled', 'PermissionDenied'],
    [404, 'BlobNotFound', 'NotFound'],
    [409, 'BlobAlreadyExists', 'AlreadyExists'],
    [409, 'ContainerAlreadyExists', 'AlreadyExists'],
    [412, 'ConditionNotMet', 'PreconditionFailed'],
    [503, 'ServerBusy', 'RateLimited'],
    [500, 'OperationTimedOut', 'Unavailable'],
    [500, 'InternalError', 'Unavailable'],
    [409, 'ContainerBeingDeleted', 'Unavailable'],
    [400, 'InvalidResourceName', 'InvalidConfig'],
    [503, 'SomethingNew', 'Unavailable'],
    [429, 'SomethingNew', 'RateLimited'],
    [403, 'SomethingNew', 'PermissionDenied'],
    [418, 'SomethingNew', 'Unknown'],
  ])('HTTP %i %s → %s', (status, code, expected) => {
    const mapped = azureError(restError(status, code), put);
    expect(mapped.code).toBe(expected);
    expect(mapped.provider).toBe('azure');
    expect(mapped.operation).toBe('put');
  });

  it('tells a missing container (subject bucket) from a missing blob (subject object)', () => {
    expect(azureError(restError(404, 'ContainerNotFound'), { operation: 'stat', key: 'k' })).toMatchObject(
      { code: 'NotFound', subject: 'bucket' },
    );
    expect(azureError(restError(404, 'BlobNotFound'), { operation: 'stat', key: 'k' })).toMatchObject({
      code: 'NotFound',
      subject: 'object',
    });
  });

  it('reads the code of a HEAD response, which has no body, from the error details', () => {
    const head = new RestError('', { statusCode: 404 });
    head.details = { errorCode: 'ContainerNotFound' };
    expect(azureError(head, { operation: 'stat', key: 'k' })).toMatchObject({
      code: 'NotFound',
      subject: 'bucket',
    });
  });

  it('keeps AuthorizationFailure (firewall, network rules) as PermissionDenied, but azurite’s bad-signature answer as Unauthenticated', () => {
    const azure = restError(
      403,
      'AuthorizationFailure',
      'This request is not authorized to perform this operation.',
    );
    expect(azureError(azure, put)).toMatchObject({ code: 'PermissionDenied' });
    expect(azureError(azure, put).hint).toContain('firewall');
    const azurite = restError(
      403,
      'AuthorizationFailure',
      'Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.',
    );
    expect(azureError(azurite, put)).toMatchObject({ code: 'Unauthenticated' });
  });

  it('names the credential to check in the hint of an authentication failure', () => {
    const error = restError(403, 'AuthenticationFailed');
    expect(azureError(error, { ...put, auth: 'sharedKey' }).hint).toContain('AZURE_ACCOUNT_KEY');
    expect(azureError(error, { ...put, auth: 'sas' }).hint).toContain('AZURE_ACCOUNT_SAS');
    expect(azureError(error, { ...put, auth: 'identity' }).hint).toContain('identity');
  });

  it('maps a host that does not resolve to Unreachable, hinting that the account name may be wrong', () => {
    const error = new RestError('getaddrinfo ENOTFOUND acct.blob.core.windows.net', { code: 'ENOTFOUND' });
    const mapped = azureError(error, put);
    expect(mapped).toMatchObject({
      code: 'Unreachable',
      message: 'the storage host acct.blob.core.windows.net does not resolve',
    });
    expect(mapped.hint).toContain('storage account name may be wrong');
  });

  it('classifies TLS, refused connections and aborts through the shared transport table', () => {
    expect(azureError(new RestError('self signed', { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), put).code).toBe(
      'TlsError',
    );
    expect(azureError(new RestError('refused', { code: 'ECONNREFUSED' }), put).code).toBe('Unreachable');
    expect(azureError(new DOMException('aborted', 'AbortError'), put).code).toBe('Timeout');
  });

  it('maps identity failures (no managed or workload identity) to Unauthenticated', () => {
    for (const name of [
      'CredentialUnavailableError',
      'AggregateAuthenticationError',
      'AuthenticationError',
    ]) {
      const error = Object.assign(new Error('ManagedIdentityCredential: no response from IMDS'), { name });
      const mapped = azureError(error, { operation: 'list' });
      expect(mapped.code).toBe('Unauthenticated');
      expect(mapped.hint).toContain('workload or managed identity');
    }
  });

  it('never carries SDK text (XML dumps, SAS signatures) into the message or the hint', () => {
    for (const [status, code] of [
      [403, 'AuthenticationFailed'],
      [418, 'Weird'],
      [400, 'InvalidHeaderValue'],
      [503, 'ServerBusy'],
    ] as const) {
      const mapped = azureError(restError(status, code), put);
      const shown = JSON.stringify(mapped);
      expect(shown).not.toContain(SIG);
      expect(shown).not.toContain('<?xml');
      expect(shown).not.toContain('service text');
    }
  });
});

function backend(fields: Partial<AzureBackend> = {}): AzureBackend {
  return { provider: 'azure', container: 'backups', ...fields };
}

const secret = (values: Record<string, string>): SecretBag => new SecretBag(Object.entries(values), 'test');

describe('resolveAzureTarget (account, endpoint, credential kind)', () => {
  it('uses the public cloud by default, with the KubeStash account from the spec', () => {
    expect(
      resolveAzureTarget(backend({ storageAccount: 'kubestashacct' }), secret({ AZURE_ACCOUNT_KEY: KEY })),
    ).toEqual({
      serviceUrl: 'https://kubestashacct.blob.core.windows.net',
      account: 'kubestashacct',
      auth: 'sharedKey',
    });
  });

  it('takes the Stash account from AZURE_ACCOUNT_NAME, and the spec wins when both are given', () => {
    const bag = secret({ AZURE_ACCOUNT_NAME: 'stashacct\n', AZURE_ACCOUNT_KEY: KEY });
    expect(resolveAzureTarget(backend(), bag).account).toBe('stashacct');
    expect(resolveAzureTarget(backend({ storageAccount: 'specacct' }), bag).account).toBe('specacct');
  });

  it('prefers the account key to a SAS, and uses an identity when the secret has neither', () => {
    expect(
      resolveAzureTarget(
        backend({ storageAccount: 'acct1' }),
        secret({ AZURE_ACCOUNT_KEY: KEY, AZURE_ACCOUNT_SAS: 'sv=1' }),
      ).auth,
    ).toBe('sharedKey');
    expect(
      resolveAzureTarget(backend({ storageAccount: 'acct1' }), secret({ AZURE_ACCOUNT_SAS: '?sv=1' })).auth,
    ).toBe('sas');
    expect(resolveAzureTarget(backend({ storageAccount: 'acct1' }), SecretBag.empty()).auth).toBe('identity');
  });

  it('builds sovereign-cloud hosts from a bare suffix in options.endpoint or AZURE_ENDPOINT_SUFFIX', () => {
    expect(
      resolveAzureTarget(
        backend({ storageAccount: 'cnacct' }),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        'core.chinacloudapi.cn',
      ).serviceUrl,
    ).toBe('https://cnacct.blob.core.chinacloudapi.cn');
    expect(
      resolveAzureTarget(
        backend({ storageAccount: 'govacct' }),
        secret({ AZURE_ACCOUNT_KEY: KEY, AZURE_ENDPOINT_SUFFIX: 'core.usgovcloudapi.net' }),
      ).serviceUrl,
    ).toBe('https://govacct.blob.core.usgovcloudapi.net');
    expect(
      resolveAzureTarget(
        backend({ storageAccount: 'govacct' }),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        '.blob.core.usgovcloudapi.net',
      ).serviceUrl,
    ).toBe('https://govacct.blob.core.usgovcloudapi.net');
  });

  it('takes a full endpoint URL as the service URL, reading the account from its host or path when not named', () => {
    expect(
      resolveAzureTarget(
        backend(),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        'http://127.0.0.1:10000/devstoreaccount1/',
      ),
    ).toEqual({
      serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      account: 'devstoreaccount1',
      auth: 'sharedKey',
    });
    expect(
      resolveAzureTarget(
        backend(),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        'https://privacct.blob.core.windows.net',
      ).account,
    ).toBe('privacct');
  });

  it('refuses configurations it cannot act on, naming what to fix and never echoing a secret', () => {
    const cases: [AzureBackend, SecretBag, string | undefined, RegExp][] = [
      [backend(), secret({ AZURE_ACCOUNT_KEY: KEY }), undefined, /no storage account name/],
      [backend({ storageAccount: 'Bad_Name' }), secret({ AZURE_ACCOUNT_KEY: KEY }), undefined, /not valid/],
      [
        backend({ storageAccount: 'acct1' }),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        `https://acct1.blob.core.windows.net/?sig=${SIG}`,
        /must not carry/,
      ],
      [
        backend({ storageAccount: 'acct1' }),
        SecretBag.empty(),
        'http://127.0.0.1:10000/acct1',
        /needs an https endpoint/,
      ],
      [
        backend({ storageAccount: 'acct1' }),
        secret({ AZURE_ACCOUNT_SAS: `sv=1&sig=${SIG}` }),
        'http://azurestack.example/acct1',
        /cleartext/,
      ],
      [
        backend({ storageAccount: 'acct1' }),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        'not a suffix!',
        /not a DNS name/,
      ],
      [
        backend({ storageAccount: 'acct1' }),
        secret({ AZURE_ACCOUNT_KEY: KEY }),
        'ftp://host/acct1',
        /http or https/,
      ],
    ];
    for (const [config, bag, endpoint, message] of cases) {
      let thrown: unknown;
      try {
        resolveAzureTarget(config, bag, endpoint);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'InvalidConfig', message: expect.stringMatching(message) });
      expect(JSON.stringify(thrown)).not.toContain(SIG);
      expect(JSON.stringify(thrown)).not.toContain(KEY);
    }
  });
});
