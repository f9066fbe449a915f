/** Decodes an HTTP request body by its Content-Type: JSON, or YAML as `kubectl get -o yaml` prints it. */
import { parseYamlDocument } from '../config/manifests.js';
import { RequestError } from '../config/request-error.js';

const JSON_TYPES = new Set(['application/json', 'text/json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

export function decodeBody(
  raw: string | Buffer | undefined | null,
  contentType: string | undefined,
  maxBytes: number,
): unknown {
  const size = raw === undefined || raw === null ? 0 : Buffer.byteLength(raw);
  if (size > maxBytes) {
    throw new RequestError('PayloadTooLarge', `the request body is ${size} bytes; the limit is ${maxBytes}`);
  }
  if (size === 0) {
    throw new RequestError('InvalidRequest', 'the request body is empty', [
      { path: '', message: 'expected { storage, credentials?, options? }' },
    ]);
  }
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : (raw as string);
  const mediaType = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (JSON_TYPES.has(mediaType) || mediaType.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new RequestError(
        'MalformedBody',
        `the request body is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  if (YAML_TYPES.has(mediaType) || mediaType.endsWith('+yaml'))
    return parseYamlDocument(text, 'the request body');
  throw new RequestError(
    'UnsupportedMediaType',
    `Content-Type "${mediaType}" is not supported; send application/json or application/yaml`,
  );
}
