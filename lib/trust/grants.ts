/**
 * Namespace grants (API_GRANTS): which HTTP principals may act for which Kubernetes namespaces, with
 * which tenant, and which explicit credentials references (if any) they may name. A deployment writes
 * them as JSON or YAML; they are parsed once at cold start and a bad one stops the function there.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { matchesAny, matchesPattern } from './patterns.js';

const TENANT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const grantSchema = z.strictObject({
  /** An IAM ARN (`arn:aws:sts::123456789012:assumed-role/kubestash-a/*`) or `hmac:<key id>`; `*` matches any run. */
  principal: z.string().min(1).max(2048),
  /** Namespace names or patterns (`team-*`); `*` alone grants every namespace. */
  namespaces: z.array(z.string().min(1).max(253)).min(1),
  /** Substituted for `{tenant}` in CREDENTIALS_SOURCE and LOCAL_SUBPATH_TEMPLATE: keeps two clusters' `demo` apart. */
  tenant: z.string().max(63).regex(TENANT, 'must be a DNS label such as "cluster-a"').optional(),
  /**
   * Explicit credentials references the principal may name in a request (`credentials`,
   * `encryptionSecret`), as patterns in which `{namespace}` and `{tenant}` are the request's. None by
   * default: secrets then come only from the CREDENTIALS_SOURCE template.
   */
  references: z.array(z.string().min(1).max(2048)).optional(),
});

export type Grant = z.output<typeof grantSchema>;

/** The workstation's grant (local stage with no API_GRANTS): everyone, every namespace, any reference. */
export const WORKSTATION_GRANT: Grant = { principal: '*', namespaces: ['*'], references: ['*'] };

/** API_GRANTS → grants; throws an Error naming the bad entry (the caller turns it into a config error). */
export function parseGrants(text: string): Grant[] {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 0 }) as unknown; // JSON is YAML
  } catch (error) {
    throw new Error(`API_GRANTS is neither JSON nor YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = z.array(grantSchema).safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `[${issue.path.join('.')}] ${issue.message}`);
    throw new Error(`API_GRANTS: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The first grant that lets `principal` act for `namespace`. */
export function grantFor(grants: readonly Grant[], principal: string, namespace: string): Grant | undefined {
  return grants.find(
    (grant) => matchesPattern(grant.principal, principal) && matchesAny(grant.namespaces, namespace),
  );
}

/** Does the grant allow naming `reference` explicitly, in `namespace`? */
export function grantAllowsReference(grant: Grant, reference: string, namespace: string): boolean {
  const expand = (pattern: string): string =>
    pattern.replaceAll('{namespace}', namespace).replaceAll('{tenant}', grant.tenant ?? '');
  return (grant.references ?? []).some((pattern) => matchesPattern(expand(pattern), reference));
}
