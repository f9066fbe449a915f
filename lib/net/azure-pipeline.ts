/**
 * The endpoint guard for the Azure Storage SDK. Its HTTP client keeps its own agents and follows
 * redirects, so a request policy hands every request (and every redirect hop, which reuses the
 * request) the guarded storage agent for its protocol: address classes and ENDPOINT_ALLOWED_HOSTS.
 */
import type { Agent as HttpAgent } from 'node:http';
import type { Pipeline, RequestPolicyFactory } from '@azure/storage-blob';
import { storageAgents } from './endpoint-guard.js';

function agentFor(url: string): HttpAgent {
  const agents = storageAgents();
  return url.startsWith('http:') ? agents.http : agents.https;
}

const guardPolicy: RequestPolicyFactory = {
  create: (next) => ({
    sendRequest: (request) => {
      request.agent = agentFor(request.url);
      return next.sendRequest(request);
    },
  }),
};

/** Adds the guard to a pipeline from `newPipeline`; returns it, for use inline. */
export function withEndpointGuard(pipeline: Pipeline): Pipeline {
  pipeline.factories.push(guardPolicy);
  return pipeline;
}
