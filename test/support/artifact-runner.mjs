// Runs one function of the unpacked deployment package as Lambda's Node runtime would: a fresh process
// whose working directory is the package root, the handler module imported by its file, called once with
// the event and a Lambda context. Usage:
//   node artifact-runner.mjs <handler file> <export> <event file> <result file> <remaining ms>
// The handler's result (or its error, as Lambda reports one) is written to <result file> as JSON.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const [file, exportName, eventFile, resultFile, remaining] = process.argv.slice(2);
const event = JSON.parse(await readFile(eventFile, 'utf8'));
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'artifact';
let end = Date.now() + Number(remaining);
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'artifact',
  getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
};
let outcome;
try {
  const module = await import(pathToFileURL(file).href);
  // Lambda's clock for the invocation starts after the module's init.
  end = Date.now() + Number(remaining);
  outcome = { result: (await module[exportName](event, context)) ?? null };
} catch (error) {
  outcome = { error: { errorType: error?.constructor?.name, errorMessage: String(error?.message ?? error) } };
}
await writeFile(resultFile, JSON.stringify(outcome));
// Lambda freezes the sandbox after the answer; a test process ends instead of waiting on kept-alive sockets.
process.exit(0);
