/**
 * console: the BackupStorage console (docs/console.md), HTML over the HTTP API. Callers are identified
 * by the JWT authorizer on deployed stages (anonymous on the workstation); the pages are lib/console's.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { RequestError } from '../lib/config/request-error.js';
import { consoleRequestOf, errorPage, serveConsole, type HttpLikeEvent } from '../lib/console/app.js';
import { deploymentResultsStore } from '../lib/results/config.js';
import { callerOf, identifyCaller } from './common/auth.js';
import { operationContext, runtimeConfig } from './common/middleware.js';
import { logger } from './common/observability.js';

const store = deploymentResultsStore();

export const handler = middy<HttpLikeEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger))
  .use({
    onError: (request) => {
      const known = request.error instanceof RequestError ? request.error : undefined;
      if (!known) logger.error('console error', { error: request.error?.name ?? 'Error' });
      request.response = errorPage(known?.status ?? 500, known?.message ?? 'internal error');
    },
  })
  .use(httpHeaderNormalizer())
  .use(identifyCaller(runtimeConfig, { jwt: true }))
  .handler((event, context) =>
    serveConsole(consoleRequestOf(event), { store, context: operationContext(context, callerOf(context)) }),
  );
