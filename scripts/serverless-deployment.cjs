'use strict';
/**
 * serverless.yml's own plugin: what the deployment must never get wrong is checked here, when the
 * configuration is resolved (every command, `invoke local` included), so a bad setting fails the package
 * instead of reaching AWS.
 *
 * - `deploy` needs an explicit `--stage` other than `local` (the workstation stage carries demo settings).
 * - `BSF_API_AUTH` is `iam`, `hmac` (with API_AUTH_SECRET_REF) or `none` (local stage only).
 * - custom.s3Buckets, the buckets credential-less S3 storages act on with the function's own role, can
 *   match none of the deployment's own buckets (fleet manifest, deployment bucket).
 * - custom.network: a VPC and an EFS access point for local volumes, when both are configured.
 * - NOTIFY_SQS_ALLOWED_QUEUES: the AWS queues it names (patterns too) are granted sqs:SendMessage to the
 *   functions that deliver, so a queue the deployment allows is one its roles may send to.
 * - One Errors and one Throttles alarm per function, so a new function is never left without them.
 */

const API_AUTH_MODES = ['iam', 'hmac', 'none'];
const WORKSTATION_STAGE = 'local';
const EFS_MOUNT_ROOT = '/mnt/';

/** Whether the `*` glob `pattern` matches some name that starts with `prefix` (every name, when `exact`). */
function globMatches(pattern, name, exact) {
  if (name === '') return !exact || /^\**$/.test(pattern);
  if (pattern === '') return false;
  if (pattern[0] === '*')
    return globMatches(pattern.slice(1), name, exact) || globMatches(pattern, name.slice(1), exact);
  return pattern[0] === name[0] && globMatches(pattern.slice(1), name.slice(1), exact);
}

/**
 * An SQS queue URL (or a pattern of one) as the IAM resource it names; undefined for queues outside AWS
 * (an emulator), which IAM does not govern. `*` carries over: IAM resources take the same wildcard.
 */
function queueArn(url) {
  const match = /^https:\/\/sqs\.([a-z0-9*-]+)\.amazonaws\.com(\.cn)?\/(\d{12}|\*)\/([A-Za-z0-9_*.-]+)$/.exec(
    url,
  );
  if (!match) return undefined;
  const [, region, china, account, name] = match;
  return `arn:${china ? 'aws-cn' : 'aws'}:sqs:${region}:${account}:${name}`;
}

function list(value) {
  return String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

class DeploymentChecks {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    this.hooks = {
      initialize: () => this.check(),
      'after:package:compileFunctions': () => this.addFunctionAlarms(),
    };
  }

  fail(message) {
    throw new this.serverless.classes.Error(`serverless.yml: ${message}`);
  }

  get stage() {
    return this.serverless.service.provider.stage;
  }

  check() {
    this.checkDeployStage();
    this.checkApiAuth();
    this.checkBuckets();
    this.applyNetwork();
    this.grantAllowedQueues();
  }

  /** The queues NOTIFY_SQS_ALLOWED_QUEUES names, for every function that may send to the status queue. */
  grantAllowedQueues() {
    const { provider, functions } = this.serverless.service;
    const arns = list(provider.environment?.NOTIFY_SQS_ALLOWED_QUEUES).map(queueArn).filter(Boolean);
    if (arns.length === 0) return;
    const sendsStatus = (statement) =>
      [statement.Action].flat().includes('sqs:SendMessage') &&
      JSON.stringify(statement.Resource ?? '').includes('StatusQueue');
    for (const fn of Object.values(functions)) {
      if (!(fn.iamRoleStatements ?? []).some(sendsStatus)) continue;
      fn.iamRoleStatements = [
        ...fn.iamRoleStatements,
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arns },
      ];
    }
  }

  checkDeployStage() {
    const [command] = this.serverless.processedInput?.commands ?? [];
    if (command !== 'deploy') return;
    if (!this.options.stage)
      this.fail(
        'deploy needs --stage (dev, prod or your own); without it the local stage and its demo settings would deploy',
      );
    if (this.stage === WORKSTATION_STAGE)
      this.fail(
        `the ${WORKSTATION_STAGE} stage is for a workstation (serverless invoke local, serverless offline) and is never deployed`,
      );
  }

  checkApiAuth() {
    const { custom, provider } = this.serverless.service;
    const mode = custom.apiAuth;
    if (!API_AUTH_MODES.includes(mode))
      this.fail(`BSF_API_AUTH is "${mode}"; it must be one of ${API_AUTH_MODES.join(', ')}`);
    if (mode === 'none' && this.stage !== WORKSTATION_STAGE)
      this.fail(
        `BSF_API_AUTH=none leaves the API open; it is only allowed on the ${WORKSTATION_STAGE} stage (stage is ${this.stage})`,
      );
    if (mode === 'hmac' && !provider.environment?.API_AUTH_SECRET_REF)
      this.fail(
        'BSF_API_AUTH=hmac needs API_AUTH_SECRET_REF (the reference of the secret requests are signed with)',
      );
  }

  /** The deployment's own buckets: exact names, and name prefixes CloudFormation completes. */
  ownBuckets() {
    const { service, custom, provider } = this.serverless.service;
    const exact = [String(custom.fleet?.manifestObject ?? '').split('/')[0]].filter(Boolean);
    const deploymentBucket = provider.deploymentBucket?.name ?? provider.deploymentBucket;
    if (typeof deploymentBucket === 'string' && deploymentBucket) exact.push(deploymentBucket);
    const generated = `${service}-${this.stage}-serverlessdeploymentbuck`.toLowerCase();
    return { exact, prefixes: [generated] };
  }

  checkBuckets() {
    const patterns = list(this.serverless.service.custom.s3Buckets);
    if (patterns.length !== 1)
      this.fail('BSF_S3_BUCKETS must name exactly one bucket or pattern (it becomes one IAM resource)');
    const pattern = patterns[0];
    if (!/^[a-z0-9.*-]+$/.test(pattern))
      this.fail(
        `BSF_S3_BUCKETS "${pattern}" is not a bucket name or a pattern of one (a-z, 0-9, ".", "-", "*")`,
      );
    const { exact, prefixes } = this.ownBuckets();
    const hit =
      exact.find((bucket) => globMatches(pattern, bucket, true)) ??
      prefixes.find((prefix) => globMatches(pattern, prefix, false));
    if (hit)
      this.fail(
        `BSF_S3_BUCKETS "${pattern}" matches the deployment's own bucket "${hit}"; credential-less storages would act on it with the function's role`,
      );
  }

  /** custom.network → the functions' VPC and EFS mount (local volumes), only when configured. */
  applyNetwork() {
    const { custom, provider, functions } = this.serverless.service;
    const network = custom.network ?? {};
    const subnetIds = list(network.subnetIds);
    const securityGroupIds = list(network.securityGroupIds);
    const accessPoint = String(network.efsAccessPointArn ?? '');
    if (subnetIds.length === 0 && securityGroupIds.length === 0 && !accessPoint) return;
    if (subnetIds.length === 0 || securityGroupIds.length === 0)
      this.fail('VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together (an EFS access point needs both)');
    provider.vpc = { subnetIds, securityGroupIds };
    if (!accessPoint) return;
    if (
      !/^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:access-point\/fsap-[0-9a-f]+$/.test(accessPoint)
    )
      this.fail(`EFS_ACCESS_POINT_ARN "${accessPoint}" is not an EFS access point ARN`);
    const mountPath = provider.environment?.LOCAL_VOLUME_ROOT;
    if (typeof mountPath !== 'string' || !mountPath.startsWith(EFS_MOUNT_ROOT))
      this.fail(`an EFS access point mounts under ${EFS_MOUNT_ROOT}; LOCAL_VOLUME_ROOT is "${mountPath}"`);
    const fileSystem = accessPoint.replace(/:access-point\/fsap-[0-9a-f]+$/, ':file-system/*');
    for (const fn of Object.values(functions)) {
      fn.fileSystemConfig = { arn: accessPoint, localMountPath: mountPath };
      fn.iamRoleStatements = [
        ...(fn.iamRoleStatements ?? []),
        {
          Effect: 'Allow',
          Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          Resource: fileSystem,
          Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint } },
        },
      ];
    }
  }

  addFunctionAlarms() {
    const { provider } = this.serverless.service;
    const naming = this.serverless.getProvider('aws').naming;
    const resources = provider.compiledCloudFormationTemplate.Resources;
    const actions = [{ Ref: 'AlarmTopic' }];
    for (const name of this.serverless.service.getAllFunctions()) {
      const functionId = naming.getLambdaLogicalId(name);
      for (const metric of ['Errors', 'Throttles']) {
        resources[`${functionId.replace(/LambdaFunction$/, '')}${metric}Alarm`] = {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            AlarmDescription: `${name}: ${metric === 'Errors' ? 'invocations failed' : 'invocations were throttled'}`,
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
            Statistic: 'Sum',
            Period: 300,
            EvaluationPeriods: 1,
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
            TreatMissingData: 'notBreaching',
            AlarmActions: actions,
            OKActions: actions,
          },
        };
      }
    }
  }
}

module.exports = DeploymentChecks;
module.exports.globMatches = globMatches;
module.exports.queueArn = queueArn;
/** `${file(./scripts/serverless-deployment.cjs):workstationFleet}`: the local stage's demo fleet, by absolute path. */
module.exports.workstationFleet = () =>
  `file:${require('node:path').join(__dirname, '..', 'events', 'local', 'fleet.yaml')}`;
