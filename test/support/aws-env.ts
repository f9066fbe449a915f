/**
 * Points the AWS SDK clients lib/ creates (Secrets Manager, SSM, SQS) at a local contract fake through
 * the SDK's own configuration: static test credentials and the service-specific endpoint variables
 * (AWS_ENDPOINT_URL_<SERVICE>). Call before lib/ makes its first AWS call in the test file.
 */
export function useFakeAwsEnvironment(endpoint: string): void {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
  });
}
