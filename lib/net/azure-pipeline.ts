/**
 * The endpoint guard for the Azure Storage SDK. Its HTTP client keeps its own agents and follows
 * redirects, so a request policy hands every request (and every redirect hop, which reuses the
 * request) a guarded keep-alive agent for its protocol.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Pipeline, RequestPolicyFactory } from '@azure/storage-blob';
import { guardAgent } from './endpoint-guard.js';

let agents: { http: HttpAgent; https: HttpsAgent } | undefined;

function agentFor(url: string): HttpAgent {
  agents ??= {
    http: guardAgent(new HttpAgent({ keepAlive: true })),
    https: guardAgent(new HttpsAgent({ keepAlive: true })),
  };
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
