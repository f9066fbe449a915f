/**
 * bsf as people and scripts use it: the executable in a child process, its exit code (0 Ready, 1
 * NotReady, 2 invalid request or usage, 3 internal), the table on stdout, JSON/YAML documents alone on
 * stdout, and the messages that name what to fix. Local storages under a temporary volume root; S3
 * against s3rver.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bsf, run, type RunOptions } from './support/cli.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const s3 = serverInfo('s3rver');
let volume: string;
let local: RunOptions;

beforeAll(async () => {
  volume = await mkdtemp(join(tmpdir(), 'bsf-cli-volume-'));
  local = { env: { LOCAL_VOLUME_ROOT: volume } };
  const initialized = await bsf(['initialize', 'events/local/initialize.json'], local);
  expect(initialized.code, initialized.stderr).toBe(0);
});

function s3Storage(bucket: string, prefix = 'cli', deletionPolicy = 'Delete'): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'cli-s3', namespace: 'demo' },
    spec: {
      storage: {
        provider: 's3',
        s3: { bucket, region: 'us-east-1', prefix, secretName: 's3-secret' },
      },
      deletionPolicy,
    },
  };
}

describe('bsf check on events/local/check.json', () => {
  it('prints one line per condition and the phase, and exits 0 when Ready', async () => {
    const result = await bsf(['check', 'events/local/check.json'], local);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^check {2}BackupStorage demo\/local-storage {2}\(local /);
    for (const type of ['BackendReachable', 'BackendReadable', 'BackendWritable', 'MetadataValid'])
      expect(
        lines.some((line) => line.startsWith('  ✔') && line.includes(type)),
        type,
      ).toBe(true);
    expect(lines.at(-1)).toMatch(/^✔ Ready in \d+ ms \(.*writeProbe \d+ ms/);
    // Quiet by default: no logs.
    expect(result.stderr).toBe('');
  });

  it('--output json prints one JSON document on stdout and nothing else', async () => {
    const result = await bsf(['check', 'events/local/check.json', '--output', 'json'], local);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as { operation: string; status: { phase: string } };
    expect(document.operation).toBe('check');
    expect(document.status.phase).toBe('Ready');
  });

  it('--output yaml prints the result as YAML; -v sends logs to stderr, never stdout', async () => {
    const result = await bsf(['check', 'events/local/check.json', '--output', 'yaml', '-v'], local);
    expect(result.code).toBe(0);
    expect((parseYaml(result.stdout) as { status: { phase: string } }).status.phase).toBe('Ready');
    expect(result.stderr).toMatch(/"message": "check started"/);
  });

  it('reads a manifest from standard input and exits 1 with the hint on a storage that is not there', async () => {
    const text = (await readFile('events/local/check.json', 'utf8')).replace(
      'demo/local-storage',
      'demo/absent',
    );
    const request = JSON.parse(text) as { storage: unknown };
    const result = await bsf(['check', '-'], { ...local, input: JSON.stringify(request.storage) });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ +BackendReadable +NotFound +cannot list the prefix/);
    expect(result.stdout).toMatch(/hint: check mountPath\/subPath/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^✗ NotReady/);
  });
});

describe('--notify', () => {
  it('sends the result to the named webhook and shows the delivery as a line of the table', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const result = await bsf(
        ['check', 'events/local/check.json', '--notify', `webhook=${receiver.url}/bsf`],
        local,
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        /✔ +delivery requested webhook http:\/\/127\.0\.0\.1:\d+\/bsf: delivered/,
      );
      const [received] = receiver.accepted();
      expect(received?.path).toBe('/bsf');
      expect(JSON.parse(received?.body ?? '{}')).toMatchObject({
        operation: 'check',
        status: { phase: 'Ready' },
      });
    } finally {
      await receiver.close();
    }
  });
});

describe('requests and usage that are wrong exit 2 and name what is wrong', () => {
  it('a typo in a provider field names the field, on stderr for people and in the document for scripts', async () => {
    const text = (await readFile('events/local/check.json', 'utf8')).replace('"subPath"', '"subPth"');
    const table = await bsf(['check', '-'], { ...local, input: text });
    expect(table.code).toBe(2);
    expect(table.stdout).toBe('');
    expect(table.stderr).toMatch(/storage\.spec\.storage\.local\.subPth: unknown field/);
    const json = await bsf(['check', '-', '--output', 'json'], { ...local, input: text });
    expect(json.code).toBe(2);
    const document = JSON.parse(json.stdout) as { error: { code: string; issues: { path: string }[] } };
    expect(document.error.code).toBe('InvalidRequest');
    expect(document.error.issues.map((issue) => issue.path)).toContain('storage.spec.storage.local.subPth');
  });

  it.each([
    [['check', 'events/local/check.json', '--ouput', 'json'], /--ouput/],
    [['chek', 'events/local/check.json'], /unknown command "chek"/],
    [['check'], /check needs <file>/],
    [['check', 'events/local/check.json', '--option', 'createBucket'], /--option expects key=value/],
    [['check', 'events/local/check.json', '--output', 'xml'], /--output must be one of table, json, yaml/],
    [['check', 'no/such/file.yaml'], /cannot read no\/such\/file\.yaml: no such file/],
    [['check', 'events/local/fleet.yaml'], /List of storages: check it with "bsf fleet/],
    [['fleet', 'events/local/fleet.yaml', '--credentials', 'env'], /--credentials is for a single storage/],
  ])('%j', async (args, message) => {
    const result = await bsf(args, local);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('an unknown option is named by the handler (options.*)', async () => {
    const result = await bsf(['check', 'events/local/check.json', '--option', 'createBuckt=true'], local);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/options\.createBuckt/);
  });
});

describe('the stage', () => {
  it('is the workstation stage `local` when BSF_STAGE is unset', async () => {
    const result = await bsf(['check', 'events/local/check.json'], {
      env: { ...local.env, BSF_STAGE: undefined },
    });
    expect(result.code, result.stderr).toBe(0);
  });

  it('a deployed stage reads the deployment settings as Lambda does: a setting it refuses is exit 2, named', async () => {
    const result = await bsf(['check', 'events/local/check.json'], {
      env: { ...local.env, BSF_STAGE: 'prod', BSF_ALLOW_WEAK_KDF: '1' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid deployment configuration: BSF_ALLOW_WEAK_KDF/);
  });
});

describe('bsf against s3rver', () => {
  let credentials: string;
  beforeAll(async () => {
    credentials = await secretDir(
      { AWS_ACCESS_KEY_ID: s3.accessKeyId as string, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey as string },
      'cli-s3',
    );
  });

  it('--credentials and --option complete a bare manifest: initialize, then check Ready', async () => {
    const input = JSON.stringify(s3Storage(s3.bucket as string, `cli-${randomUUID().slice(0, 8)}`));
    const common = [
      '--credentials',
      credentials,
      '--option',
      `endpoint=${s3.endpoint}`,
      '--option',
      'timeoutSeconds=10',
    ];
    const initialized = await bsf(['initialize', '-', ...common], { input });
    expect(initialized.code, initialized.stdout + initialized.stderr).toBe(0);
    const checked = await bsf(['check', '-', ...common], { input });
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/✔ +MetadataValid/);
    expect(checked.stderr).toBe('');
  });

  it('cleanup of a WipeOut storage deletes what initialize wrote and says how much, with a summary line', async () => {
    const prefix = `cli-wipe-${randomUUID().slice(0, 8)}`;
    const input = JSON.stringify(s3Storage(s3.bucket as string, prefix, 'WipeOut'));
    const common = ['--credentials', credentials, '--option', `endpoint=${s3.endpoint}`];
    expect((await bsf(['initialize', '-', ...common], { input })).code).toBe(0);
    const unconfirmed = await bsf(['cleanup', '-', ...common], { input });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/options\.confirm: required: repeat "bsf-default\/cli-wipe-/);
    const result = await bsf(
      ['cleanup', '-', ...common, '--option', `confirm=${s3.bucket}/${prefix}`, '-o', 'json'],
      {
        input,
      },
    );
    expect(result.code, result.stdout).toBe(0);
    const document = JSON.parse(result.stdout) as {
      cleanup: { complete: boolean; deletedObjects: number; listCalls: number };
    };
    expect(document.cleanup).toMatchObject({ complete: true, deletedObjects: 1 });
    expect(result.stderr).toMatch(
      new RegExp(`^cleanup: 1 objects, \\d+ B deleted, ${document.cleanup.listCalls} list calls .* in \\d`),
    );
  });

  it('a missing bucket exits 1 with the reason and the hint', async () => {
    const bucket = `bsf-cli-absent-${randomUUID().slice(0, 8)}`;
    const result = await bsf(
      ['check', '-', '--credentials', credentials, '--option', `endpoint=${s3.endpoint}`],
      {
        input: JSON.stringify(s3Storage(bucket)),
      },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /✗ +BackendReadable +NotFound +cannot list the prefix: bucket "bsf-cli-absent-/,
    );
    expect(result.stdout).toMatch(/hint: .*createBucket/);
  });

  it('credentials "env" with none of the provider keys set says which keys it looked for', async () => {
    const result = await bsf(
      ['check', '-', '--credentials', 'env', '--option', `endpoint=${s3.endpoint}`, '--output', 'json'],
      {
        input: JSON.stringify(s3Storage(s3.bucket as string)),
        env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined },
      },
    );
    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout) as {
      status: { conditions: { type: string; status: string; message: string; hint?: string }[] };
    };
    const secret = document.status.conditions.find((condition) => condition.type === 'BackendSecretFound');
    expect(secret?.status).toBe('False');
    expect(secret?.message).toMatch(
      /none of s3's keys is set in the environment \(looked for AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/,
    );
    expect(secret?.message).not.toMatch(/exists/);
  });
});

describe('bsf fleet', () => {
  it('checks every entry of a kubectl List, one line each, exit 1 when one is NotReady; no progress off a terminal', async () => {
    const result = await bsf(['fleet', 'events/local/fleet.yaml'], local);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^fleet file:.*fleet\.yaml: 2 entries, 1 Ready, 1 NotReady/);
    expect(lines[1]).toMatch(/✔ +demo\/local-storage +Ready/);
    expect(lines[2]).toMatch(/✗ +demo\/nightly +NotReady +NotFound/);
    // The final summary line, and no live redraws: stderr is a pipe here.
    expect(result.stderr).toMatch(/^fleet: 2\/2 storages checked .* in \d/m);
    expect(result.stderr).not.toContain('\r');
  });
});

describe('help, version, completion', () => {
  it('--help and --version exit 0', async () => {
    const help = await bsf(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /Exit codes: 0 Ready, 1 NotReady, 2 invalid request or usage, 3 internal error/,
    );
    const version = await bsf(['--version']);
    expect(version.stdout).toMatch(/^bsf \d+\.\d+\.\d+\n$/);
  });

  it('completion bash is a script bash accepts; completion zsh defines _bsf', async () => {
    const bash = await bsf(['completion', 'bash']);
    expect(bash.code).toBe(0);
    const checked = await run('bash', ['-n'], { input: bash.stdout });
    expect(checked.code, checked.stderr).toBe(0);
    const completed = await run('bash', [
      '-c',
      `${bash.stdout}\nCOMP_WORDS=(bsf in); COMP_CWORD=1; _bsf; echo "\${COMPREPLY[@]}"`,
    ]);
    expect(completed.stdout.trim()).toBe('initialize inventory');
    const zsh = await bsf(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef bsf/);
    expect(zsh.stdout).toContain('compdef _bsf bsf');
  });
});
