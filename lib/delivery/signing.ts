/**
 * Webhook signatures: HMAC-SHA256 over `${timestamp}.${body}` with the shared secret, hex-encoded and
 * sent as `X-BSF-Signature: t=<unix seconds>,v1=<hex>`. Binding the timestamp into the MAC lets a
 * receiver refuse replays outside its tolerance window; the `v1` label leaves room for a second scheme
 * (or a second secret during rotation) without breaking receivers. docs/delivery.md has a verifier.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_SCHEME = 'v1';

/** Hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** The X-BSF-Signature header value for one attempt. */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},${SIGNATURE_SCHEME}=${signPayload(secret, timestamp, body)}`;
}
