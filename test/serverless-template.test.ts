/**
 * serverless.yml as the framework (osls) resolves it: the prod stage's CloudFormation template (alarms,
 * per-function roles, API throttling and access logs, no demo settings), the settings that must fail
 * packaging, deploys that are refused, and `serverless invoke local` of every function with no --stage and
 * no AWS credentials.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageInto, projectCopy, serverless } from './support/artifact.js';

let copy: string;
beforeAll(async () => {
  copy = await projectCopy('template');
});
afterAll(async () => {
  await rm(copy, { recursive: true, force: true });
});

const functions = Object.keys(
  (parse(await readFile('serverless.yml', 'utf8')) as { functions: Record<string, unknown> }).functions,
);
const logicalId = (name: string): string => `${name[0]?.toUpperCase()}${name.slice(1)}`;

describe('serverless package --stage prod', () => {
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  let text: string;
  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'bsf-prod-package-'));
    await packageInto(out, ['--stage', 'prod'], {
      NOTIFY_SQS_ALLOWED_QUEUES:
        'https://sqs.eu-west-1.amazonaws.com/111122223333/tenant-*,http://127.0.0.1:9324/000000000000/q',
    });
    text = await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8');
    template = JSON.parse(text);
  }, 300_000);

  it('has alarms: fleet DLQ, NotReady storages, and errors and throttles of every function', () => {
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const names = alarms.map(([name]) => name);
    expect(names).toContain('FleetDeadLetterAlarm');
    expect(template.Resources.FleetNotReadyAlarm?.Properties.Metrics[0].Expression).toBe(
      'SELECT MIN(Ready) FROM SCHEMA("BackupStorageFunctions", provider, service)',
    );
    for (const fn of functions)
      for (const metric of ['Errors', 'Throttles']) expect(names).toContain(`${logicalId(fn)}${metric}Alarm`);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
  });

  it('gives every function its own role, with only the statements it uses', () => {
    for (const fn of functions) {
      const role = `${logicalId(fn)}IamRoleLambdaExecution`;
      expect(template.Resources[`${logicalId(fn)}LambdaFunction`]?.Properties.Role).toEqual({
        'Fn::GetAtt': [role, 'Arn'],
      });
    }
    const actions = (fn: string): string[] =>
      (
        template.Resources[`${logicalId(fn)}IamRoleLambdaExecution`]?.Properties.Policies[0].PolicyDocument
          .Statement as { Action: string | string[] }[]
      ).flatMap((statement) => statement.Action);
    expect(actions('inventory')).not.toContain('s3:PutObject');
    expect(actions('check')).not.toContain('s3:CreateBucket');
    expect(actions('checkWorker')).toContain('sqs:ReceiveMessage');
    expect(actions('initialize')).not.toContain('sqs:ReceiveMessage');
    expect(actions('scheduledCheck').filter((action) => action === 'sqs:SendMessage')).toHaveLength(3);
  });

  it('grants the AWS queues NOTIFY_SQS_ALLOWED_QUEUES names to the functions that deliver, and no other', () => {
    const statements = (fn: string): { Action: string | string[]; Resource: unknown }[] =>
      template.Resources[`${logicalId(fn)}IamRoleLambdaExecution`]?.Properties.Policies[0].PolicyDocument
        .Statement;
    const granted = (fn: string): unknown[] =>
      statements(fn).flatMap((statement) =>
        JSON.stringify(statement.Resource).includes('tenant-*') ? [statement.Resource] : [],
      );
    expect(granted('check')).toEqual([['arn:aws:sqs:eu-west-1:111122223333:tenant-*']]);
    expect(granted('checkWorker')).toHaveLength(1);
    // An emulator's queue is outside IAM: it becomes no resource.
    for (const fn of functions) expect(JSON.stringify(statements(fn))).not.toContain('127.0.0.1');
  });

  it('throttles the API, logs its requests, reserves the worker’s concurrency, signs with IAM', () => {
    const stage = template.Resources.HttpApiStage?.Properties ?? {};
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    expect(stage.AccessLogSettings.Format).toContain('$context.identity.userArn');
    expect(template.Resources.CheckWorkerLambdaFunction?.Properties.ReservedConcurrentExecutions).toBe(10);
    expect(template.Resources.HttpApiRoutePostV1Check?.Properties.AuthorizationType).toBe('AWS_IAM');
    const variables = template.Resources.CheckLambdaFunction?.Properties.Environment.Variables;
    expect(variables).toMatchObject({ BSF_STAGE: 'prod', BSF_API_AUTH: 'iam', BSF_DEMO_RESTIC_PASSWORD: '' });
    expect(text).not.toContain('changeit');
    expect(text).not.toContain('/tmp/backupstorage-functions');
  });
});

describe('settings that must not deploy', () => {
  const refused = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
    const { code, output } = await serverless(copy, args, env);
    expect(code).not.toBe(0);
    return output;
  };

  it('refuses deploy without --stage, and of the local stage', async () => {
    expect(await refused(['deploy'])).toContain('deploy needs --stage');
    expect(await refused(['deploy', '--stage', 'local'])).toContain('never deployed');
  });

  it('fails packaging on an unknown BSF_API_AUTH, on none outside local, on hmac without its secret', async () => {
    expect(await refused(['package', '--stage', 'prod'], { BSF_API_AUTH: 'open' })).toContain(
      'BSF_API_AUTH is "open"',
    );
    expect(await refused(['package', '--stage', 'prod'], { BSF_API_AUTH: 'none' })).toContain(
      'only allowed on the local stage',
    );
    expect(await refused(['package', '--stage', 'prod'], { BSF_API_AUTH: 'hmac' })).toContain(
      'needs API_AUTH_SECRET_REF',
    );
  });

  it('fails packaging when the credential-less bucket pattern matches the deployment’s own buckets', async () => {
    expect(
      await refused(['package', '--stage', 'prod'], { BSF_S3_BUCKETS: 'backupstorage-functions-*' }),
    ).toContain('matches the deployment\'s own bucket "backupstorage-functions-prod-fleet"');
    expect(await refused(['package', '--stage', 'prod'], { BSF_S3_BUCKETS: '*deploymentbuck*' })).toContain(
      'serverlessdeploymentbuck',
    );
  });
});

describe('serverless invoke local, no --stage, no AWS credentials', () => {
  /** The last top-level JSON object the framework printed (the handler's result). */
  function lastJson(output: string): any {
    return JSON.parse(output.slice(output.lastIndexOf('\n{\n') + 1));
  }

  it('runs every function offline; scheduledCheck prints the demo fleet’s summary', async () => {
    const home = await mkdtemp(join(tmpdir(), 'bsf-no-aws-home-'));
    const volume = await mkdtemp(join(tmpdir(), 'bsf-invoke-local-'));
    const env = { HOME: home, LOCAL_VOLUME_ROOT: volume, POWERTOOLS_LOG_LEVEL: 'ERROR' };
    const events: Record<string, string> = {
      initialize: 'events/local/initialize.json',
      check: 'events/local/check.json',
      inventory: 'events/local/inventory.json',
      cleanup: 'events/local/check.json',
      scheduledCheck: 'events/local/fleet.json',
    };
    const results: Record<string, any> = {};
    for (const fn of functions) {
      const args = [
        'invoke',
        'local',
        '-f',
        fn,
        ...(events[fn] ? ['-p', events[fn]] : ['-d', '{"Records":[]}']),
      ];
      const { code, output } = await serverless(copy, args, env);
      expect(code, output).toBe(0);
      results[fn] = lastJson(output);
    }
    expect(results.initialize.status.phase).toBe('Ready');
    expect(results.check.status.phase).toBe('Ready');
    expect(results.scheduledCheck).toMatchObject({
      mode: 'inline',
      summary: { total: 2, checked: 2, byPhase: { Ready: 1, NotReady: 1 } },
    });
  }, 600_000);
});
