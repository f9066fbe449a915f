/**
 * Who asked, and for what. Every operation runs inside one scope: the caller (the operator's own
 * direct invokes, or an identified HTTP principal), the Kubernetes namespace it acts for, and the
 * tenant of the grant that let it in (docs/security.md).
 */

export type Caller =
  /** Direct invokes, schedules, the fleet queue, the CLI: whoever may call lambda:InvokeFunction. */
  | { kind: 'operator' }
  /** An HTTP request; `principal` is the IAM ARN of the signer or `hmac:<key id>`. */
  | { kind: 'http'; principal: string };

export interface TrustScope {
  caller: Caller;
  /** The namespace the request acts for: the storage's, or `default` when it names none. */
  namespace: string;
  /** The grant's tenant (one per cluster, say), for `{tenant}` in templates. */
  tenant?: string;
}

export const OPERATOR: Caller = { kind: 'operator' };

export function isHttpCaller(caller: Caller): caller is { kind: 'http'; principal: string } {
  return caller.kind === 'http';
}
