/**
 * The transport of the deployment's own AWS clients: Secrets Manager and SSM (lib/credentials/aws.ts),
 * the fleet manifest's S3 (lib/fleet/manifest.ts) and the deployment's own SQS queue
 * (lib/delivery/sqs.ts). Their hosts come from the deployment (region, AWS_ENDPOINT_URL_*, a VPC
 * interface endpoint whose private DNS resolves to private addresses), never from a caller, so the
 * endpoint rules for storages and caller-named URLs do not apply to them: their agents are exempt from
 * guardGlobalAgents(), which GCS and B2 install process-wide. Every storage and caller-named connection
 * stays guarded (storageAgents, guardAgent).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { exemptFromGuard } from './endpoint-guard.js';

/** A connect to an AWS endpoint takes milliseconds; one that hangs is a network problem, not a slow service. */
const CONNECTION_TIMEOUT_MS = 5_000;
/** Socket inactivity bound of one request, on top of the caller's AbortSignal. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface DeploymentAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

let agents: DeploymentAgents | undefined;

/** One keep-alive pair for every deployment client, for the life of the warm function. */
export function deploymentAgents(): DeploymentAgents {
  agents ??= {
    http: exemptFromGuard(new HttpAgent({ keepAlive: true })),
    https: exemptFromGuard(new HttpsAgent({ keepAlive: true })),
  };
  return agents;
}

/** The AWS SDK's `requestHandler` options (NodeHttpHandler) for a deployment client. */
export function deploymentRequestHandler(): {
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
  connectionTimeout: number;
  requestTimeout: number;
} {
  const { http, https } = deploymentAgents();
  return {
    httpAgent: http,
    httpsAgent: https,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  };
}
