/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost, made with the
 * openssl CLI in a fresh temporary directory. Every call makes a new CA, so a second call gives a
 * "wrong CA" for tests of certificate failures.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  /** The CA certificate, PEM: what a client trusts (CA_CERT_DATA). */
  caPem: string;
  /** The CA certificate file. */
  caPath: string;
  /** Server certificate (signed by the CA, SAN IP:127.0.0.1 and DNS:localhost), PEM file. */
  certPath: string;
  /** The server certificate's private key, PEM file. */
  keyPath: string;
}

export async function makeTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'bsf-test-ca-'));
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=backupstorage-functions test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
  );
  await writeFile(
    path('server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    path('server.ext'),
    '-out',
    path('server.pem'),
  );
  return {
    caPem: await readFile(path('ca.pem'), 'utf8'),
    caPath: path('ca.pem'),
    certPath: path('server.pem'),
    keyPath: path('server.key'),
  };
}
