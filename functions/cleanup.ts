import { runOperation } from '../lib/operations/run.js';
import { operationHandler } from './common/middleware.js';

export const handler = operationHandler((body, context) => runOperation('cleanup', body, context));
