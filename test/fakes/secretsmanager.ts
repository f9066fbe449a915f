/**
 * Contract fake of AWS Secrets Manager's GetSecretValue over awsJson1_1 (`secretsmanager.GetSecretValue`),
 * as the API reference documents it: SecretId is a name, a full ARN or a partial ARN (without the
 * six-character suffix); a missing secret is ResourceNotFoundException, a denied one
 * AccessDeniedException, a binary secret has SecretBinary (base64) and no SecretString.
 */
import { randomUUID } from 'node:crypto';
import { AwsFault, requireString, type AwsJsonService } from './aws-json.js';

interface StoredSecret {
  name: string;
  arn: string;
  string?: string;
  binary?: Buffer;
  versionId: string;
}

export class SecretsManagerFake implements AwsJsonService {
  readonly targetPrefix = 'secretsmanager';
  readonly contentType = 'application/x-amz-json-1.1';
  readonly errorNamespace = 'com.amazonaws.secretsmanager';
  readonly #secrets = new Map<string, StoredSecret>();
  readonly denied = new Set<string>();
  reads = 0;

  put(name: string, value: string | Buffer): string {
    const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
    const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-${suffix}`;
    this.#secrets.set(name, {
      name,
      arn,
      versionId: randomUUID(),
      ...(typeof value === 'string' ? { string: value } : { binary: value }),
    });
    return arn;
  }

  #find(id: string): StoredSecret | undefined {
    if (!id.startsWith('arn:')) return this.#secrets.get(id);
    return [...this.#secrets.values()].find((secret) => secret.arn === id || secret.arn.slice(0, -7) === id);
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    if (operation !== 'GetSecretValue')
      throw new AwsFault(
        'UnknownOperationException',
        `operation ${operation} is not implemented by this fake`,
      );
    const id = requireString(input, 'SecretId');
    if (id.length > 2048) throw new AwsFault('InvalidParameterException', 'SecretId is too long');
    this.reads += 1;
    const secret = this.#find(id);
    if (!secret)
      throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    if (this.denied.has(secret.name)) {
      throw new AwsFault(
        'AccessDeniedException',
        `User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${id}`,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
      ...(secret.string !== undefined
        ? { SecretString: secret.string }
        : { SecretBinary: secret.binary?.toString('base64') }),
    };
  }
}
