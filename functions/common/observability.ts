/** One Logger for every function: service name, cold start and request ids from Powertools. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../../lib/runtime/log.js';

export const logger = new Logger({ serviceName: 'backupstorage-functions' });

/** lib/'s logging surface on top of Powertools. */
export const log: Log = {
  debug: (message, attributes) => logger.debug(message, attributes ?? {}),
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
};
