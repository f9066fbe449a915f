/**
 * The deployment's own AWS clients (Secrets Manager, SSM, the fleet manifest's S3, its own SQS queue)
 * connect through lib/net/deployment-agents.ts, outside the endpoint rules: with the process-wide guard
 * installed (GCS and B2 install it) and ALLOW_PRIVATE_ENDPOINTS unset, they still reach a loopback
 * endpoint (as a VPC interface endpoint on private addresses), while a storage endpoint there is refused.
 */
import { get as httpGet } from 'node:http';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../lib/backends/registry.js';
import { resolveCredentials } from '../lib/credentials/resolve.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { sendToQueue } from '../lib/delivery/sqs.js';
import { loadFleetSource } from '../lib/fleet/manifest.js';
import { guardGlobalAgents, POLICY_SETTING, storageAgents } from '../lib/net/endpoint-guard.js';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { SsmFake } from './fakes/ssm.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';
import { serverInfo } from './support/servers.js';

const secrets = new SecretsManagerFake();
const ssm = new SsmFake();
const sqs = new SqsFake();
let endpoint: AwsJsonEndpoint;
let manifestBucket: string;
let queueUrl: string;

/** The code a connection attempt through `agent` (the default global agent when undefined) ends with. */
function connectOutcome(url: string, agent?: import('node:http').Agent): Promise<string> {
  return new Promise((resolve) => {
    const request = httpGet(url, agent ? { agent } : {}, (response) => {
      response.resume();
      resolve('connected');
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

beforeAll(async () => {
  endpoint = await startAwsJsonEndpoint([secrets, ssm, sqs]);
  useFakeAwsEnvironment(endpoint.url);
  // The queue and the manifest bucket are made while loopback is still allowed, by a client of the test's own.
  const s3rver = serverInfo('s3rver');
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    credentials: {
      accessKeyId: s3rver.accessKeyId as string,
      secretAccessKey: s3rver.secretAccessKey as string,
    },
  });
  manifestBucket = `deployment-transport-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: manifestBucket }));
  await s3.send(
    new PutObjectCommand({ Bucket: manifestBucket, Key: 'fleet.yaml', Body: 'kind: List\nitems: []\n' }),
  );
  s3.destroy();
  const admin = new SQSClient({ region: 'us-east-1', endpoint: endpoint.url });
  queueUrl = (await admin.send(new CreateQueueCommand({ QueueName: 'deployment-statuses' })))
    .QueueUrl as string;
  admin.destroy();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_ACCESS_KEY_ID: s3rver.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3rver.secretAccessKey,
  });
  // What a deployed function has once GCS or B2 loaded: every agent guarded, no private class allowed.
  guardGlobalAgents();
  delete process.env[POLICY_SETTING];
});
afterAll(async () => {
  await endpoint.close();
});

describe('deployment transport under the process-wide endpoint guard', () => {
  it('resolves a Secrets Manager reference and an SSM fleet manifest from a loopback endpoint', async () => {
    secrets.put('bsf/deployment', JSON.stringify({ WEBHOOK_SECRET: 'abcd1234' }));
    ssm.put('/bsf/fleet', 'kind: List\nitems: []\n', 'String');
    const bag = await resolveCredentials('aws-secretsmanager:bsf/deployment');
    expect(bag.reveal('WEBHOOK_SECRET')).toBe('abcd1234');
    expect(await loadFleetSource('aws-ssm:/bsf/fleet')).toBe('kind: List\nitems: []\n');
  });

  it('reads an s3:// fleet manifest from a loopback S3 endpoint', async () => {
    expect(await loadFleetSource(`s3://${manifestBucket}/fleet.yaml`)).toBe('kind: List\nitems: []\n');
  });

  it("sends to the deployment's own queue on a loopback endpoint", async () => {
    const outcome = await sendToQueue(queueUrl, { body: '{}', attributes: {} });
    expect(outcome).toMatchObject({ sink: 'sqs', delivered: true });
    expect(sqs.queue('deployment-statuses')).toHaveLength(1);
  });

  it('still refuses a storage endpoint, the storage agents and the global agents on loopback', async () => {
    expect(await connectOutcome(endpoint.url)).toBe('ERR_ENDPOINT_REFUSED');
    expect(await connectOutcome(endpoint.url, storageAgents().http)).toBe('ERR_ENDPOINT_REFUSED');
    const store = await openStore(
      { provider: 'gcs', bucket: 'refused-bucket' },
      { credentials: SecretBag.empty('test'), endpoint: endpoint.url },
    );
    await expect(store.bucketExists()).rejects.toMatchObject({ code: 'InvalidConfig' });
  });
});
