/** The region this function runs in (Lambda sets AWS_REGION), for the AWS clients of its own account. */
export function functionRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}
