/**
 * The server-side request forgery guard. These functions connect to hosts a request names (S3 and
 * Azure endpoints, Swift auth URLs and the storage URLs its catalog hands back, webhook URLs); in a
 * Lambda that is a way into the cloud's metadata service and the VPC. So every connection is checked
 * where it is made, after DNS resolution, which also covers every redirect hop and DNS rebinding:
 *
 * - always refused: link-local (169.254.0.0/16, fe80::/10, which hold the AWS/GCP/Azure metadata
 *   service at 169.254.169.254), AWS's IPv6 metadata address fd00:ec2::254, Alibaba's 100.100.100.200,
 *   unspecified, multicast and broadcast addresses, and the metadata host names;
 * - refused unless the deployment allows them (`ALLOW_PRIVATE_ENDPOINTS=loopback,private`): loopback
 *   (127.0.0.0/8, ::1) and private ranges (RFC 1918, carrier-grade NAT 100.64.0.0/10, unique-local fc00::/7).
 *
 * Three ways in: `guardedLookup` is a `dns.lookup` for Node's net/tls connect options (and undici's
 * `connect.lookup`); `guardAgent` makes an http(s).Agent check literal IP hosts too (Node skips the
 * lookup for those) and use the guarded lookup; `checkEndpoint` resolves and checks a URL up front.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BlockList, isIP, type NetConnectOpts } from 'node:net';

/** What an address is, for the policy and for messages. */
export type AddressClass =
  'metadata' | 'link-local' | 'unspecified' | 'multicast' | 'loopback' | 'private' | 'public';

/** Classes a deployment may allow; the others are refused whatever the configuration says. */
export const ALLOWABLE_CLASSES = ['loopback', 'private'] as const;
export type AllowableClass = (typeof ALLOWABLE_CLASSES)[number];

export interface EndpointPolicy {
  allow: ReadonlySet<AllowableClass>;
}

/** The setting that names the allowed classes. */
export const POLICY_SETTING = 'ALLOW_PRIVATE_ENDPOINTS';

/** Error code of a refused connection; lib/backends/errors.ts classifies it. */
export const ENDPOINT_REFUSED = 'ERR_ENDPOINT_REFUSED';

type Family = 'ipv4' | 'ipv6';
type Ranges = [address: string, prefix: number, family: Family][];

function blockList(ranges: Ranges): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

// Checked in this order: the first list holding an address names its class.
const CLASSES: [AddressClass, BlockList][] = [
  [
    'metadata',
    blockList([
      ['169.254.169.254', 32, 'ipv4'],
      ['169.254.170.2', 32, 'ipv4'], // ECS task metadata and credentials
      ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud
      ['fd00:ec2::254', 128, 'ipv6'],
    ]),
  ],
  [
    'link-local',
    blockList([
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ]),
  ],
  [
    'unspecified',
    blockList([
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ]),
  ],
  [
    'multicast',
    blockList([
      ['224.0.0.0', 4, 'ipv4'],
      ['240.0.0.0', 4, 'ipv4'], // reserved, and 255.255.255.255
      ['ff00::', 8, 'ipv6'],
    ]),
  ],
  [
    'loopback',
    blockList([
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ]),
  ],
  [
    'private',
    blockList([
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ]),
  ],
];

/** Host names that reach a metadata service whatever they resolve to. */
const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

const NAT64 = blockList([['64:ff9b::', 96, 'ipv6']]);

/** `[::1]` → `::1`, a trailing dot dropped, lower case. */
function bareHost(host: string): string {
  return host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The IPv4 address a NAT64 (64:ff9b::/96) address carries, which is where it really goes. */
function nat64Target(address: string): string | undefined {
  if (!NAT64.check(address, 'ipv6')) return undefined;
  const groups = address.split(':');
  const last = groups.at(-1) ?? '';
  if (isIP(last) === 4) return last;
  const hi = Number.parseInt(groups.at(-2) ?? '0', 16);
  const lo = Number.parseInt(last || '0', 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

export function classifyAddress(address: string): AddressClass {
  const bare = bareHost(address);
  const version = isIP(bare);
  if (version === 0) throw new TypeError(`not an IP address: ${address}`);
  const mapped = version === 6 ? nat64Target(bare) : undefined;
  if (mapped !== undefined) return classifyAddress(mapped);
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of CLASSES) if (list.check(bare, family)) return kind;
  return 'public';
}

/** Parses the setting: a comma list of `loopback`, `private` (or `none`); throws on anything else. */
export function parseEndpointPolicy(value: string | undefined): EndpointPolicy {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'none');
  for (const name of names) {
    if (!(ALLOWABLE_CLASSES as readonly string[]).includes(name)) {
      throw new Error(`${POLICY_SETTING}: "${name}" is not one of ${ALLOWABLE_CLASSES.join(', ')}, none`);
    }
  }
  return { allow: new Set(names as AllowableClass[]) };
}

let cachedPolicy: { raw: string | undefined; policy: EndpointPolicy } | undefined;

/** The deployment's policy, read from the environment (so a test can allow loopback for its run). */
export function currentEndpointPolicy(): EndpointPolicy {
  const raw = process.env[POLICY_SETTING];
  if (cachedPolicy !== undefined && cachedPolicy.raw === raw) return cachedPolicy.policy;
  let policy: EndpointPolicy;
  try {
    policy = parseEndpointPolicy(raw);
  } catch {
    // lib/config/runtime.ts refuses a bad setting at cold start; here the strictest reading stands.
    policy = { allow: new Set() };
  }
  cachedPolicy = { raw, policy };
  return policy;
}

/** A connection the guard refused, as Node errors look (a `code`), so every SDK passes it through. */
export class EndpointRefusedError extends Error {
  readonly code = ENDPOINT_REFUSED;
  readonly host: string;
  readonly addressClass: AddressClass;

  constructor(host: string, addressClass: AddressClass, address?: string) {
    const where = address && address !== host ? `${host} (${address})` : host;
    super(`connection to ${where} refused: ${addressClass} addresses are not allowed`);
    this.name = 'EndpointRefusedError';
    this.host = host;
    this.addressClass = addressClass;
  }
}

function isAllowed(kind: AddressClass, policy: EndpointPolicy): boolean {
  return kind === 'public' || ((kind === 'loopback' || kind === 'private') && policy.allow.has(kind));
}

/** Why a connection to `address` (reached through `host`) is refused, or undefined when it may go ahead. */
export function addressRefusal(
  host: string,
  address: string,
  policy: EndpointPolicy = currentEndpointPolicy(),
): EndpointRefusedError | undefined {
  const kind = classifyAddress(address);
  return isAllowed(kind, policy) ? undefined : new EndpointRefusedError(host, kind, address);
}

/** Refusal decided by the host name alone: metadata names, and literal addresses. */
export function hostRefusal(
  host: string,
  policy: EndpointPolicy = currentEndpointPolicy(),
): EndpointRefusedError | undefined {
  const bare = bareHost(host);
  if (METADATA_HOSTS.has(bare)) return new EndpointRefusedError(bare, 'metadata');
  return isIP(bare) !== 0 ? addressRefusal(bare, bare, policy) : undefined;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `dns.lookup` with the policy applied to every address the name resolves to: one refused address
 * refuses the name (a host that resolves to both a public and a metadata address is not trusted).
 * DNS failures pass through unchanged, so they are classified as before.
 */
export function guardedLookup(
  hostname: string,
  options: LookupOptions | number | LookupCallback,
  callback?: LookupCallback,
): void {
  const done = (typeof options === 'function' ? options : callback) as LookupCallback;
  const given: LookupOptions =
    typeof options === 'number' ? { family: options } : typeof options === 'object' ? options : {};
  const policy = currentEndpointPolicy();
  const byName = hostRefusal(hostname, policy);
  if (byName) return process.nextTick(done, byName, given.all ? [] : '');
  dnsLookup(hostname, { ...given, all: true }, (error, addresses) => {
    if (error) return done(error, given.all ? [] : '');
    for (const { address } of addresses) {
      const refusal = addressRefusal(bareHost(hostname), address, policy);
      if (refusal) return done(refusal, given.all ? [] : '');
    }
    if (given.all) return done(null, addresses);
    const first = addresses[0];
    if (!first)
      return done(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    done(null, first.address, first.family);
  });
}

type CreateConnection = (
  options: NetConnectOpts & { host?: string },
  callback: (error: Error | null, socket?: unknown) => void,
) => unknown;

/** `createConnection` with the guard in front: literal hosts checked here, names by `guardedLookup`. */
function guardedConnection(original: CreateConnection): CreateConnection {
  return function guardedCreateConnection(this: unknown, options, callback) {
    const refusal = hostRefusal(options.host ?? 'localhost');
    if (refusal) {
      // The agent hands the error to the request, which emits it like any connect failure.
      callback(refusal);
      return undefined;
    }
    return original.call(this, { ...options, lookup: guardedLookup }, callback);
  };
}

const guardedFunctions = new WeakSet<CreateConnection>();
type Guardable = { createConnection: CreateConnection };

/** Idempotent: an agent whose prototype is guarded already connects through the guard. */
function guard(target: Guardable): void {
  if (guardedFunctions.has(target.createConnection)) return;
  const wrapped = guardedConnection(target.createConnection);
  guardedFunctions.add(wrapped);
  target.createConnection = wrapped;
}

/**
 * Makes one http.Agent or https.Agent connect only where the policy allows. Returns the same agent,
 * for use inline.
 */
export function guardAgent<A extends HttpAgent>(agent: A): A {
  guard(agent as unknown as Guardable);
  return agent;
}

/**
 * Guards every http(s).Agent in the process, present and future, through the Agent prototypes: for
 * SDKs that build their own agents out of reach (the GCS client's keep-alive pool, axios for B2, token
 * requests). Agents given their own `createConnection` are not covered; `fetch` has its own dispatcher
 * (guarded-fetch.ts). Idempotent.
 */
export function guardGlobalAgents(): void {
  guard(HttpAgent.prototype as unknown as Guardable);
  guard(HttpsAgent.prototype as unknown as Guardable);
}

/**
 * Checks a URL before anything connects to it: scheme, host name, and every address the name
 * resolves to. Throws EndpointRefusedError (or the DNS error) when it may not be used.
 */
export async function checkEndpoint(
  url: string | URL,
  policy: EndpointPolicy = currentEndpointPolicy(),
): Promise<void> {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw Object.assign(new Error(`unsupported URL scheme ${parsed.protocol}`), {
      code: 'ERR_INVALID_URL_SCHEME',
    });
  }
  const host = bareHost(parsed.hostname);
  const byName = hostRefusal(host, policy);
  if (byName) throw byName;
  if (isIP(host) !== 0) return;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
  );
  for (const { address } of addresses) {
    const refusal = addressRefusal(host, address, policy);
    if (refusal) throw refusal;
  }
}

export function isEndpointRefused(error: unknown): error is EndpointRefusedError {
  return (error as { code?: unknown } | undefined)?.code === ENDPOINT_REFUSED;
}
