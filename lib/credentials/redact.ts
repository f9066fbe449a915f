/**
 * Everything that leaves the process as text (condition messages, hints, logs) passes through here:
 * secret values the request resolved, signed-URL parameters and raw XML/HTML dumps are cut, and the
 * length is bounded. Velero learned this the hard way when SAS tokens showed up in statuses.
 */
import { REDACTED } from './secret.js';

const MAX_MESSAGE = 400;
const SIGNED_PARAMS =
  /([?&;\s](?:sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|token|access_token|key|code|se|sp|sv|skoid|sktid|skt|ske|sks|skv|ss|srt)=)[^&\s"'<>]*/gi;
const AUTH_HEADER =
  /\b(authorization|x-auth-token|x-storage-token|x-auth-key|x-amz-security-token)\s*[:=]\s*\S+/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi;
const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g;
const MARKUP = /<\?xml[\s\S]*$|<(?:html|Error|ErrorResponse)[\s>][\s\S]*$/i;

export function sanitizeText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets]
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  out = out
    .replace(PEM_BLOCK, '[pem removed]')
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(SIGNED_PARAMS, `$1${REDACTED}`)
    .replace(AUTH_HEADER, `$1: ${REDACTED}`)
    .replace(MARKUP, '[response body removed]')
    .replace(/\s+/g, ' ')
    .trim();
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}
