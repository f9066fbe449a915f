/**
 * The server-side request forgery guard. These functions connect to hosts a request names (S3 and
 * Azure endpoints, Swift auth URLs and the storage URLs its catalog hands back, B2's API URLs, webhook
 * and queue URLs); in a Lambda that is a way into the cloud's metadata service and the VPC, and a way
 * to hand the storage's secrets (or the function's own AWS session) to a server the caller runs. So
 * every connection is checked where it is made, after DNS resolution, which also covers every
 * redirect hop and DNS rebinding:
 *
 * - always refused: link-local (169.254.0.0/16, fe80::/10, which hold the AWS/GCP/Azure metadata
 *   service at 169.254.169.254), AWS's IPv6 metadata address fd00:ec2::254, Alibaba's 100.100.100.200,
 *   unspecified, multicast and broadcast addresses, and the metadata host names;
 * - refused unless the deployment allows them (`ALLOW_PRIVATE_ENDPOINTS=loopback,private`): loopback
 *   (127.0.0.0/8, ::1) and private ranges (RFC 1918, carrier-grade NAT 100.64.0.0/10, unique-local fc00::/7);
 * - storage endpoints only, when the deployment sets `ENDPOINT_ALLOWED_HOSTS`: a host (and port) that
 *   matches none of its patterns. The deployment's own AWS clients (its queue, Secrets Manager, SSM,
 *   fleet manifests) are not storage endpoints and are judged by address only.
 *
 * Three ways in: `guardedLookup` is a `dns.lookup` for Node's net/tls connect options (and undici's
 * `connect.lookup`); `guardAgent` makes an http(s).Agent check its host (literal IP hosts too, which
 * Node does not look up) and use the guarded lookup; `checkEndpoint` checks a URL up front.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BlockList, isIP, type NetConnectOpts } from 'node:net';
import { matchesPattern } from '../trust/patterns.js';
import { rememberBounded } from '../runtime/memo.js';

/** What an address is, for the policy and for messages. */
export type AddressClass =
  'metadata' | 'link-local' | 'unspecified' | 'multicast' | 'loopback' | 'private' | 'public';

/** Classes a deployment may allow; the others are refused whatever the configuration says. */
export const ALLOWABLE_CLASSES = ['loopback', 'private'] as const;
export type AllowableClass = (typeof ALLOWABLE_CLASSES)[number];

export interface EndpointPolicy {
  allow: ReadonlySet<AllowableClass>;
  /**
   * Host patterns (`*.amazonaws.com`, `minio.internal:9000`, `[fd00::5]:8080`) a storage endpoint must
   * match; undefined: any host (the address classes still apply).
   */
  allowedHosts?: readonly string[];
}

/** The setting that names the allowed classes. */
export const POLICY_SETTING = 'ALLOW_PRIVATE_ENDPOINTS';

/** The setting that lists the hosts storage endpoints may name. */
export const HOSTS_SETTING = 'ENDPOINT_ALLOWED_HOSTS';

/**
 * Whose connection a guard judges: a storage endpoint (named by a request or a manifest, or handed
 * back by a storage server: address classes and ENDPOINT_ALLOWED_HOSTS), or a delivery/service
 * connection whose URL the deployment vets on its own terms (address classes only).
 */
export type GuardReach = 'storage' | 'address';

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

/** A comma list of host patterns; unset or empty: undefined (any host). */
function parseAllowedHosts(value: string | undefined): string[] | undefined {
  const list = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/**
 * Parses the settings: `ALLOW_PRIVATE_ENDPOINTS`, a comma list of `loopback`, `private` (or `none`),
 * throwing on anything else; and `ENDPOINT_ALLOWED_HOSTS`, a comma list of host patterns.
 */
export function parseEndpointPolicy(value: string | undefined, hosts?: string): EndpointPolicy {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'none');
  for (const name of names) {
    if (!(ALLOWABLE_CLASSES as readonly string[]).includes(name)) {
      throw new Error(`${POLICY_SETTING}: "${name}" is not one of ${ALLOWABLE_CLASSES.join(', ')}, none`);
    }
  }
  const allowedHosts = parseAllowedHosts(hosts);
  return { allow: new Set(names as AllowableClass[]), ...(allowedHosts ? { allowedHosts } : {}) };
}

let cachedPolicy: { raw: string; policy: EndpointPolicy } | undefined;

/** The deployment's policy, read from the environment (so a test can change it for its run). */
export function currentEndpointPolicy(): EndpointPolicy {
  const classes = process.env[POLICY_SETTING];
  const hosts = process.env[HOSTS_SETTING];
  const raw = `${classes ?? ''}\n${hosts ?? ''}`;
  if (cachedPolicy !== undefined && cachedPolicy.raw === raw) return cachedPolicy.policy;
  let policy: EndpointPolicy;
  try {
    policy = parseEndpointPolicy(classes, hosts);
  } catch {
    // lib/config/runtime.ts refuses a bad setting at cold start; here the strictest reading stands.
    const allowedHosts = parseAllowedHosts(hosts);
    policy = { allow: new Set(), ...(allowedHosts ? { allowedHosts } : {}) };
  }
  cachedPolicy = { raw, policy };
  return policy;
}

// ---- host patterns ----------------------------------------------------------------------------------

/** `host:port` as a pattern names it (`[::1]:9000` for IPv6 addresses). */
function hostWithPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** A pattern's host and optional port: `minio.internal:9000`, `[::1]:9000`, `::1`, `*.example.com`. */
function splitHostPattern(pattern: string): { host: string; port?: string } {
  const text = pattern.trim();
  const bracketed = /^\[([^\]]*)\](?::([0-9*]+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] };
  const withPort = /^([^:]*):([0-9*]+)$/.exec(text);
  if (withPort) return { host: withPort[1] ?? '', port: withPort[2] };
  return { host: text };
}

/**
 * Does `host` (a name or an address) on `port` match one of `patterns`? `*` stands for any run of
 * characters (lib/trust/patterns.ts); a pattern without a port matches every port.
 */
export function hostMatches(patterns: readonly string[], host: string, port: number): boolean {
  const bare = bareHost(host);
  return patterns.some((pattern) => {
    const parts = splitHostPattern(pattern);
    return (
      matchesPattern(bareHost(parts.host), bare, { ignoreCase: true }) &&
      (parts.port === undefined || matchesPattern(parts.port, String(port)))
    );
  });
}

/** A URL's port, its scheme's default when it names none. */
export function urlPort(url: URL): number {
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

// ---- refusals ---------------------------------------------------------------------------------------

const CLASS_TEXT: Record<AddressClass, string> = {
  metadata: 'a cloud metadata service address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address (0.0.0.0, ::)',
  multicast: 'a multicast or broadcast address',
  loopback: 'a loopback address',
  private: 'a private address',
  public: 'a public address',
};

function classHint(kind: AddressClass): string {
  switch (kind) {
    case 'loopback':
      return `loopback addresses are refused unless the deployment sets ${POLICY_SETTING}=loopback (local emulators only)`;
    case 'private':
      return `an in-VPC or on-premises endpoint needs ${POLICY_SETTING}=private in the deployment`;
    default:
      return `${kind} addresses are never allowed, whatever the configuration says`;
  }
}

/**
 * Recent refusals by message: some SDKs (Azure's pipeline) rethrow a connect failure as their own error
 * keeping only its code and message, and the reason and hint are found again by the message.
 */
const recentRefusals = new Map<string, EndpointRefusedError>();
const RECENT_REFUSALS = 64;

function rememberRefusal(refusal: EndpointRefusedError): void {
  rememberBounded(recentRefusals, refusal.message, refusal, RECENT_REFUSALS);
}

/** A connection the guard refused, as Node errors look (a `code`), so every SDK passes it through. */
export class EndpointRefusedError extends Error {
  readonly code = ENDPOINT_REFUSED;
  readonly host: string;
  /** The refused address class; undefined when ENDPOINT_ALLOWED_HOSTS refused the host itself. */
  readonly addressClass?: AddressClass;
  /** Why, for a condition message: `127.0.0.1 is a loopback address`. */
  readonly reason: string;
  /** What the deployment would change to allow it, or why nothing will. */
  readonly hint: string;

  constructor(init: { host: string; reason: string; hint: string; addressClass?: AddressClass }) {
    super(`connection to ${init.host} refused: ${init.reason}`);
    this.name = 'EndpointRefusedError';
    this.host = init.host;
    this.reason = init.reason;
    this.hint = init.hint;
    if (init.addressClass) this.addressClass = init.addressClass;
    rememberRefusal(this);
  }

  /** `address` (reached through `host`) is of a class the policy refuses. */
  static forAddress(host: string, kind: AddressClass, address?: string): EndpointRefusedError {
    const where = address && address !== host ? `${host} (${address})` : host;
    return new EndpointRefusedError({
      host,
      addressClass: kind,
      reason: `${where} is ${CLASS_TEXT[kind]}`,
      hint: classHint(kind),
    });
  }

  /** `host` on `port` matches none of ENDPOINT_ALLOWED_HOSTS. */
  static notListed(host: string, port: number): EndpointRefusedError {
    const named = hostWithPort(host, port);
    const suggestion = port === 80 || port === 443 ? host : named;
    return new EndpointRefusedError({
      host,
      reason: `host ${named} is not in ${HOSTS_SETTING}`,
      hint: `storage endpoints must match ${HOSTS_SETTING}; if the deployment trusts this endpoint, add ${suggestion} to ${HOSTS_SETTING}`,
    });
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
  return isAllowed(kind, policy) ? undefined : EndpointRefusedError.forAddress(host, kind, address);
}

/** Refusal decided by the host name alone: metadata names, and literal addresses. */
export function hostRefusal(
  host: string,
  policy: EndpointPolicy = currentEndpointPolicy(),
): EndpointRefusedError | undefined {
  const bare = bareHost(host);
  if (METADATA_HOSTS.has(bare)) return EndpointRefusedError.forAddress(bare, 'metadata');
  return isIP(bare) !== 0 ? addressRefusal(bare, bare, policy) : undefined;
}

/** Refusal of a storage endpoint by ENDPOINT_ALLOWED_HOSTS; undefined when it matches or the setting is unset. */
export function allowListRefusal(
  host: string,
  port: number,
  policy: EndpointPolicy = currentEndpointPolicy(),
): EndpointRefusedError | undefined {
  if (policy.allowedHosts === undefined || hostMatches(policy.allowedHosts, host, port)) return undefined;
  return EndpointRefusedError.notListed(bareHost(host), port);
}

/** Everything decided before DNS: metadata names and literal addresses, then (storage reach) the host list. */
function refusalByName(
  host: string,
  port: number,
  policy: EndpointPolicy,
  reach: GuardReach,
): EndpointRefusedError | undefined {
  return (
    hostRefusal(host, policy) ?? (reach === 'storage' ? allowListRefusal(host, port, policy) : undefined)
  );
}

/**
 * Is `url`'s host named by ENDPOINT_ALLOWED_HOSTS itself? False when the setting is unset: "any host"
 * is not a statement that the deployment trusts this one (S3 uses it before it lends the function's
 * own AWS credentials to a custom endpoint).
 */
export function listedEndpoint(url: string | URL, policy: EndpointPolicy = currentEndpointPolicy()): boolean {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return (
    policy.allowedHosts !== undefined && hostMatches(policy.allowedHosts, parsed.hostname, urlPort(parsed))
  );
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
  options: NetConnectOpts & { host?: string; port?: number | string },
  callback: (error: Error | null, socket?: unknown) => void,
) => unknown;

/** `createConnection` with the guard in front: names and literal hosts checked here, addresses by `guardedLookup`. */
function guardedConnection(original: CreateConnection, reach: GuardReach): CreateConnection {
  return function guardedCreateConnection(this: unknown, options, callback) {
    const agentPort = (this as { defaultPort?: unknown } | undefined)?.defaultPort;
    const port = Number(options.port) || (typeof agentPort === 'number' ? agentPort : 80);
    const refusal = refusalByName(options.host ?? 'localhost', port, currentEndpointPolicy(), reach);
    if (refusal) {
      // The agent hands the error to the request, which emits it like any connect failure.
      callback(refusal);
      return undefined;
    }
    return original.call(this, { ...options, lookup: guardedLookup }, callback);
  };
}

/** Each guarded `createConnection` and the reach it enforces. */
const guardedFunctions = new WeakMap<CreateConnection, GuardReach>();
type Guardable = { createConnection: CreateConnection };

/** Idempotent; a storage guard over an address-guarded prototype adds the host list to it. */
function guard(target: Guardable, reach: GuardReach): void {
  const current = guardedFunctions.get(target.createConnection);
  if (current === reach || current === 'storage') return;
  const wrapped = guardedConnection(target.createConnection, reach);
  guardedFunctions.set(wrapped, reach);
  target.createConnection = wrapped;
}

/**
 * Makes one http.Agent or https.Agent connect only where the policy allows: for storage clients
 * (the default) address classes and ENDPOINT_ALLOWED_HOSTS, for `address` reach the classes only.
 * Returns the same agent, for use inline.
 */
export function guardAgent<A extends HttpAgent>(agent: A, reach: GuardReach = 'storage'): A {
  guard(agent as unknown as Guardable, reach);
  return agent;
}

/** Node's own connect functions, taken before any guard can wrap the Agent prototypes. */
const unguardedConnect = {
  http: (HttpAgent.prototype as unknown as Guardable).createConnection,
  https: (HttpsAgent.prototype as unknown as Guardable).createConnection,
};

/**
 * Gives one agent Node's own, unguarded connect, so guardGlobalAgents() (which wraps the prototypes)
 * does not reach it. Only for the deployment's own clients (net/deployment-agents.ts), whose hosts the
 * deployment configured and no caller can name; never for a storage or caller-named endpoint.
 */
export function exemptFromGuard<A extends HttpAgent>(agent: A): A {
  (agent as unknown as Guardable).createConnection =
    agent instanceof HttpsAgent ? unguardedConnect.https : unguardedConnect.http;
  return agent;
}

let storageAgentPair: { http: HttpAgent; https: HttpsAgent } | undefined;

/**
 * One pair of keep-alive agents for storage clients that take an agent per request (B2's axios, the
 * Azure pipeline) and trust the public roots only: guarded with the storage reach.
 */
export function storageAgents(): { http: HttpAgent; https: HttpsAgent } {
  storageAgentPair ??= {
    http: guardAgent(new HttpAgent({ keepAlive: true })),
    https: guardAgent(new HttpsAgent({ keepAlive: true })),
  };
  return storageAgentPair;
}

/**
 * Guards every http(s).Agent in the process, present and future, through the Agent prototypes: for
 * SDKs that build their own agents out of reach (the GCS client's keep-alive pool, its token
 * requests). By address only: the GCS endpoint is checked against the host list up front
 * (`checkEndpoint`), and its token URL is the SDK's own. The deployment's own AWS calls (Secrets
 * Manager, SSM, the fleet manifest, its queue) do not go through these: they have their own agents,
 * exempt (deployment-agents.ts), so a VPC interface endpoint on private addresses still works. Agents
 * given their own `createConnection` keep it; `fetch` has its own dispatcher (guarded-fetch.ts).
 * Idempotent.
 */
export function guardGlobalAgents(): void {
  guard(HttpAgent.prototype as unknown as Guardable, 'address');
  guard(HttpsAgent.prototype as unknown as Guardable, 'address');
}

/**
 * Checks a URL before anything connects to it: scheme, host name (and, for storage endpoints,
 * ENDPOINT_ALLOWED_HOSTS, before any DNS query), and every address the name resolves to. Throws
 * EndpointRefusedError (or the DNS error) when it may not be used.
 */
export async function checkEndpoint(
  url: string | URL,
  policy: EndpointPolicy = currentEndpointPolicy(),
  reach: GuardReach = 'storage',
): Promise<void> {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw Object.assign(new Error(`unsupported URL scheme ${parsed.protocol}`), {
      code: 'ERR_INVALID_URL_SCHEME',
    });
  }
  const host = bareHost(parsed.hostname);
  const byName = refusalByName(host, urlPort(parsed), policy, reach);
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

/** The guard's refusal behind an SDK error (it may sit a few `cause`s deep), if there is one. */
export function endpointRefusalOf(error: unknown): EndpointRefusedError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth += 1) {
    if (current instanceof EndpointRefusedError) return current;
    const message = (current as { message?: unknown }).message;
    const known = typeof message === 'string' ? recentRefusals.get(message) : undefined;
    if (known && isEndpointRefused(current)) return known;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
