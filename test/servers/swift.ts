/**
 * A real OpenStack Swift all-in-one from Debian's packages (swift 2.30), started once per test run:
 * memcached, one object, container and account server on a single 1-replica ring each, and a proxy with
 * tempauth and s3api (so the S3 adapter's tests talk to a second, independent S3 implementation on the
 * same port). A second proxy serves the same cluster over TLS with a throwaway self-signed certificate.
 * Recipe: /work/shared/spec/emulators.md. Every port is picked free; readiness is each /healthcheck.
 *
 * Published info (all strings):
 * - authUrl: v1 auth URL (`.../auth/v1.0`), user `test:tester`, key `testing`
 * - storageUrl: the account URL tempauth hands out for that user (`.../v1/AUTH_test`)
 * - proxyUrl: `http://127.0.0.1:PORT`; s3Endpoint (same port), s3AccessKey, s3SecretKey, s3Region
 * - adminUser / adminKey: a reseller admin (`admin:admin` / `admin`)
 * - tlsProxyUrl, tlsAuthUrl, tlsS3Endpoint: the TLS proxy; caFile: path of its PEM certificate (SAN IP:127.0.0.1)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startProcess, waitUntil, type RunningProcess } from '../support/process.js';
import type { StartedServer, TestServer } from './types.js';

const run = promisify(execFile);

const USER = 'test:tester';
const KEY = 'testing';

type RingType = 'object' | 'container' | 'account';
const RING_TYPES: RingType[] = ['object', 'container', 'account'];

async function buildRing(dir: string, type: RingType, port: number): Promise<void> {
  const builder = join(dir, `${type}.builder`);
  await run('swift-ring-builder', [builder, 'create', '10', '1', '1']);
  await run('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${port}/sdb1`, '100']);
  // rebalance exits 1 with a warning on some versions even when it wrote the ring; the ring file decides.
  await run('swift-ring-builder', [builder, 'rebalance']).catch((error: { code?: number }) => {
    if (error.code !== 1) throw error;
  });
}

function storageServerConf(dir: string, type: RingType, port: number): string {
  const daemons: Record<RingType, string[]> = {
    object: ['object-replicator', 'object-auditor', 'object-updater'],
    container: ['container-replicator', 'container-updater', 'container-auditor'],
    account: ['account-replicator', 'account-auditor', 'account-reaper'],
  };
  return [
    '[DEFAULT]',
    'bind_ip = 127.0.0.1',
    `bind_port = ${port}`,
    'workers = 0',
    'user = root',
    `swift_dir = ${dir}`,
    `devices = ${join(dir, 'devices')}`,
    'mount_check = false',
    'disable_fallocate = true',
    `recon_cache_path = ${join(dir, 'recon')}`,
    `log_name = ${type}-server`,
    '',
    '[pipeline:main]',
    `pipeline = healthcheck recon ${type}-server`,
    '',
    `[app:${type}-server]`,
    `use = egg:swift#${type}`,
    '',
    '[filter:healthcheck]',
    'use = egg:swift#healthcheck',
    '',
    '[filter:recon]',
    'use = egg:swift#recon',
    '',
    ...daemons[type].flatMap((name) => [`[${name}]`, '']),
  ].join('\n');
}

const PROXY_FILTERS = [
  'catch_errors',
  'gatekeeper',
  'healthcheck',
  'cache',
  'listing_formats',
  'bulk',
  'tempurl',
  'copy',
  'slo',
  'dlo',
  'versioned_writes',
  'symlink',
] as const;

function proxyConf(
  dir: string,
  port: number,
  memcachePort: number,
  tls?: { cert: string; key: string },
): string {
  return [
    '[DEFAULT]',
    'bind_ip = 127.0.0.1',
    `bind_port = ${port}`,
    'workers = 0',
    'user = root',
    `swift_dir = ${dir}`,
    'log_name = proxy-server',
    ...(tls ? [`cert_file = ${tls.cert}`, `key_file = ${tls.key}`] : []),
    '',
    '[pipeline:main]',
    'pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server',
    '',
    '[app:proxy-server]',
    'use = egg:swift#proxy',
    'account_autocreate = true',
    '',
    '[filter:tempauth]',
    'use = egg:swift#tempauth',
    `user_test_tester = ${KEY} .admin`,
    'user_admin_admin = admin .admin .reseller_admin',
    '',
    '[filter:s3api]',
    'use = egg:swift#s3api',
    'location = us-east-1',
    's3_acl = false',
    '',
    '[filter:cache]',
    'use = egg:swift#memcache',
    `memcache_servers = 127.0.0.1:${memcachePort}`,
    '',
    '[filter:proxy-logging]',
    'use = egg:swift#proxy_logging',
    '',
    ...PROXY_FILTERS.filter((name) => name !== 'cache').flatMap((name) => [
      `[filter:${name}]`,
      `use = egg:swift#${name}`,
      '',
    ]),
  ].join('\n');
}

async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'proxy-cert.pem');
  const key = join(dir, 'proxy-key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** True when `/healthcheck` answers 200 (Swift's own readiness endpoint). */
async function healthy(url: string, ca?: string): Promise<boolean> {
  if (ca === undefined) {
    const response = await fetch(`${url}/healthcheck`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.ok;
  }
  // Node's fetch cannot take a CA per request; https.get can.
  return new Promise((resolve, reject) => {
    const request = get(`${url}/healthcheck`, { ca, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('timeout')));
  });
}

async function start(): Promise<StartedServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bsf-swift-'));
  const processes: RunningProcess[] = [];
  const stop = async (): Promise<void> => {
    // Proxies first, storage servers next, memcached last; each by its own PID.
    for (const group of [processes.slice(4).reverse(), processes.slice(1, 4), processes.slice(0, 1)]) {
      await Promise.all(group.map((running) => running.stop()));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([mkdir(join(dir, 'devices', 'sdb1'), { recursive: true }), mkdir(join(dir, 'recon'))]);
    const port = portAllocator();
    const [memcachePort, proxyPort, tlsPort] = [await port(), await port(), await port()];
    const ports: Record<RingType, number> = {
      object: await port(),
      container: await port(),
      account: await port(),
    };
    const [tls] = await Promise.all([
      selfSignedCertificate(dir),
      ...RING_TYPES.map((type) => buildRing(dir, type, ports[type])),
      ...RING_TYPES.map((type) =>
        writeFile(join(dir, `${type}-server.conf`), storageServerConf(dir, type, ports[type])),
      ),
      writeFile(join(dir, 'proxy-server.conf'), proxyConf(dir, proxyPort, memcachePort)),
    ]);
    await writeFile(join(dir, 'proxy-tls.conf'), proxyConf(dir, tlsPort, memcachePort, tls));

    // memcached refuses to run as root without -u; tempauth keeps its tokens there.
    processes.push(
      startProcess('memcached', ['-u', 'memcache', '-l', '127.0.0.1', '-p', String(memcachePort), '-U', '0']),
    );
    for (const type of RING_TYPES)
      processes.push(startProcess(`swift-${type}-server`, [join(dir, `${type}-server.conf`)]));
    processes.push(startProcess('swift-proxy-server', [join(dir, 'proxy-server.conf')]));
    processes.push(startProcess('swift-proxy-server', [join(dir, 'proxy-tls.conf')]));

    const ca = await readFile(tls.cert, 'utf8');
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const tlsProxyUrl = `https://127.0.0.1:${tlsPort}`;
    const probe = async (what: string, check: () => Promise<boolean>): Promise<void> => {
      try {
        await waitUntil(check, 120_000, what);
      } catch (error) {
        const exited = processes.filter((running) => running.child.exitCode !== null);
        const logs = exited
          .map((running) => `${String(running.child.spawnfile)}: ${running.output()}`)
          .join('\n');
        throw new Error(`${String(error)}${logs ? `\n${logs}` : ''}`);
      }
    };
    await Promise.all([
      probe('memcached', async () => {
        return new Promise((resolve) => {
          const socket = connect(memcachePort, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
      }),
      ...RING_TYPES.map((type) =>
        probe(`swift ${type} server`, () => healthy(`http://127.0.0.1:${ports[type]}`)),
      ),
      probe('swift proxy', () => healthy(proxyUrl)),
      probe('swift TLS proxy', () => healthy(tlsProxyUrl, ca)),
    ]);

    // A real v1 authentication proves tempauth and memcached work, and gives the storage URL to publish.
    let storageUrl = '';
    await probe('swift tempauth', async () => {
      const response = await fetch(`${proxyUrl}/auth/v1.0`, {
        headers: { 'X-Auth-User': USER, 'X-Auth-Key': KEY },
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      storageUrl = response.headers.get('x-storage-url') ?? '';
      return response.ok && storageUrl !== '';
    });

    return {
      info: {
        authUrl: `${proxyUrl}/auth/v1.0`,
        user: USER,
        key: KEY,
        storageUrl,
        proxyUrl,
        adminUser: 'admin:admin',
        adminKey: 'admin',
        s3Endpoint: proxyUrl,
        s3AccessKey: USER,
        s3SecretKey: KEY,
        s3Region: 'us-east-1',
        tlsProxyUrl,
        tlsAuthUrl: `${tlsProxyUrl}/auth/v1.0`,
        tlsS3Endpoint: tlsProxyUrl,
        caFile: tls.cert,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Hands out free ports, never the same one twice (freePort alone may return a port it gave before). */
function portAllocator(): () => Promise<number> {
  const taken = new Set<number>();
  return async () => {
    for (;;) {
      const candidate = await freePort();
      if (!taken.has(candidate)) {
        taken.add(candidate);
        return candidate;
      }
    }
  };
}

export const server: TestServer = { name: 'swift', start };
