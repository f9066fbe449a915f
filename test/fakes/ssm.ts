/**
 * Contract fake of AWS Systems Manager Parameter Store's GetParameter over awsJson1_1
 * (`AmazonSSM.GetParameter`), as documented: Name is a name or ARN, a missing parameter is
 * ParameterNotFound, a SecureString read without WithDecryption returns ciphertext, values are at most
 * 8 KB (advanced tier).
 */
import { AwsFault, requireString, type AwsJsonService } from './aws-json.js';

interface StoredParameter {
  value: string;
  type: 'String' | 'StringList' | 'SecureString';
  version: number;
}

export class SsmFake implements AwsJsonService {
  readonly targetPrefix = 'AmazonSSM';
  readonly contentType = 'application/x-amz-json-1.1';
  readonly errorNamespace = 'com.amazonaws.ssm';
  readonly #parameters = new Map<string, StoredParameter>();
  reads = 0;

  put(name: string, value: string, type: StoredParameter['type'] = 'SecureString'): void {
    if (Buffer.byteLength(value) > 8192) throw new Error('parameter values are at most 8 KB');
    const version = (this.#parameters.get(name)?.version ?? 0) + 1;
    this.#parameters.set(name, { value, type, version });
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    if (operation !== 'GetParameter')
      throw new AwsFault(
        'UnknownOperationException',
        `operation ${operation} is not implemented by this fake`,
      );
    const raw = requireString(input, 'Name');
    const name = raw.startsWith('arn:') ? raw.replace(/^arn:[^:]+:ssm:[^:]*:\d*:parameter/, '') : raw;
    this.reads += 1;
    const parameter = this.#parameters.get(name);
    if (!parameter) throw new AwsFault('ParameterNotFound', '');
    const decrypt = input.WithDecryption === true;
    const value =
      parameter.type === 'SecureString' && !decrypt
        ? Buffer.from(`kms:${parameter.value}`).toString('base64')
        : parameter.value;
    return {
      Parameter: {
        Name: name,
        Type: parameter.type,
        Value: value,
        Version: parameter.version,
        ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${name.startsWith('/') ? '' : '/'}${name}`,
        DataType: 'text',
        LastModifiedDate: Date.now() / 1000,
      },
    };
  }
}
