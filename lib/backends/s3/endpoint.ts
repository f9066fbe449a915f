/**
 * Reads the endpoint forms users write for S3 and S3-compatible stores into what the SDK needs:
 * `s3.amazonaws.com`, `https://s3.eu-west-1.amazonaws.com`, `nyc3.digitaloceanspaces.com`,
 * `http://minio.local:9000`. A bare host means https. AWS's own hosts are left to the SDK's endpoint
 * resolution (virtual-hosted addressing, the region picks the host, FIPS/dual-stack kept); every other
 * host is a custom endpoint addressed path-style, which every S3-compatible server accepts.
 */
import { StorageError } from '../errors.js';

export interface S3Endpoint {
  /** Custom endpoint URL for the SDK; undefined for AWS (the SDK derives the host from the region). */
  url?: string;
  /** True for AWS's own S3 hosts (or no endpoint at all). */
  aws: boolean;
  forcePathStyle: boolean;
  /** A region named by the host (`s3.eu-west-1.amazonaws.com`), used when the config names none. */
  hostRegion?: string;
  useFipsEndpoint?: boolean;
  useDualstackEndpoint?: boolean;
}

const REGION_LABEL = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+$/;
const AWS_HOST = /(^|\.)amazonaws\.com(\.cn)?$/;

function invalid(endpoint: string, why: string): StorageError {
  return new StorageError({
    code: 'InvalidConfig',
    provider: 's3',
    operation: 'connect',
    message: `endpoint "${endpoint}" ${why}`,
    hint: 'write the endpoint as a host (s3.amazonaws.com, nyc3.digitaloceanspaces.com) or a URL (http://minio.local:9000); a bare host means https',
  });
}

/** The region named in an AWS host's labels: `s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`, `s3.dualstack.eu-west-1…`. */
function regionOfAwsHost(host: string): string | undefined {
  for (const label of host.split('.')) {
    const candidate = label.startsWith('s3-') ? label.slice(3) : label;
    if (REGION_LABEL.test(candidate)) return candidate;
  }
  return undefined;
}

/** `override` (options.endpoint) wins over the backend's own `endpoint`; neither means AWS. */
export function resolveS3Endpoint(configured: string | undefined, override?: string): S3Endpoint {
  const raw = (override ?? configured)?.trim();
  if (!raw) return { aws: true, forcePathStyle: false };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(raw, 'is not a valid host or URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid(raw, `uses ${url.protocol.replace(/:$/, '')}; only http and https are supported`);
  if (url.username || url.password)
    throw invalid('[redacted]', 'must not carry credentials; put them in the storage secret');
  if (url.search || url.hash)
    throw invalid(`${url.protocol}//${url.host}`, 'must not have a query or fragment');
  const host = url.hostname.toLowerCase();
  // VPC interface endpoints (…vpce.amazonaws.com) are addressed like any custom endpoint.
  if (AWS_HOST.test(host) && !host.includes('.vpce.') && url.pathname.replace(/\/+$/, '') === '') {
    const labels = host.split('.');
    return {
      aws: true,
      forcePathStyle: false,
      hostRegion: regionOfAwsHost(host),
      useFipsEndpoint: labels.some((label) => label.includes('fips')) || undefined,
      useDualstackEndpoint: labels.includes('dualstack') || undefined,
    };
  }
  const path = url.pathname.replace(/\/+$/, '');
  return {
    url: `${url.protocol}//${url.host}${path}`,
    aws: false,
    forcePathStyle: true,
    hostRegion: AWS_HOST.test(host) ? regionOfAwsHost(host) : undefined,
  };
}
