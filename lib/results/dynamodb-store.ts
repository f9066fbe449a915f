/**
 * The results store of deployed stages: one DynamoDB table (serverless.yml, ResultsTable), on-demand.
 *
 *   key (hash)   sk (range)        what
 *   <storage>    latest            the latest record (doc), its version, and its summary for the list
 *   <storage>    h#<version>       one item per recorded event (the claim of lib/results/record.ts),
 *                                  with `expiresAt` for the table's TTL
 *
 * The list reads a sparse index (`latest`: only latest items carry `listPk`) projecting just the summary,
 * so 10,000 storages are a few pages of small items, never a scan over their history. The claim is a
 * put conditioned on the item's absence, the latest record a put conditioned on its version.
 */
import type { AttributeValue, DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { recordEvent, type Claim, type VersionedLog } from './record.js';
import {
  summaryOf,
  type HistoryEntry,
  type ListOptions,
  type RecordInput,
  type RecordOutcome,
  type ResultsStore,
  type StorageRecord,
  type StorageSummary,
} from './store.js';

export const LATEST_SK = 'latest';
export const LIST_INDEX = 'latest';
export const LIST_PARTITION = 'storage';
/** History is kept this long (the table's TTL deletes it after). */
export const DEFAULT_HISTORY_DAYS = 90;

type Sdk = typeof import('@aws-sdk/client-dynamodb');
type Item = Record<string, AttributeValue>;

export interface DynamoResultsStoreOptions {
  table: string;
  /** A client of your own (tests: dynalite's endpoint); else one for the function's region. */
  client?: DynamoDBClient;
  clientConfig?: DynamoDBClientConfig;
  historyDays?: number;
}

function versionSk(version: number): string {
  return `h#${String(version).padStart(10, '0')}`;
}

function text(item: Item | undefined, name: string): string | undefined {
  const value = item?.[name];
  return value && 'S' in value ? value.S : undefined;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

export class DynamoResultsStore implements ResultsStore, VersionedLog {
  readonly description: string;
  readonly #table: string;
  readonly #historySeconds: number;
  readonly #options: DynamoResultsStoreOptions;
  #sdk: Promise<{ sdk: Sdk; client: DynamoDBClient }> | undefined;

  constructor(options: DynamoResultsStoreOptions) {
    this.#options = options;
    this.#table = options.table;
    this.description = `dynamodb:${options.table}`;
    this.#historySeconds = (options.historyDays ?? DEFAULT_HISTORY_DAYS) * 86_400;
  }

  /** The SDK loads on first use: functions that never record do not pay for it. */
  #connect(): Promise<{ sdk: Sdk; client: DynamoDBClient }> {
    this.#sdk ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: this.#options.client ?? new sdk.DynamoDBClient(this.#options.clientConfig ?? {}),
    }));
    return this.#sdk;
  }

  record(input: RecordInput): Promise<RecordOutcome> {
    return recordEvent(this, input);
  }

  get(key: string): Promise<StorageRecord | undefined> {
    return this.readLatest(key);
  }

  async list(options: ListOptions = {}): Promise<StorageSummary[]> {
    const { sdk, client } = await this.#connect();
    const summaries: StorageSummary[] = [];
    let start: Item | undefined;
    do {
      const page = await client.send(
        new sdk.QueryCommand({
          TableName: this.#table,
          IndexName: LIST_INDEX,
          KeyConditionExpression: 'listPk = :p',
          ExpressionAttributeValues: { ':p': { S: LIST_PARTITION } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const summary = text(item, 'summary');
        if (!summary) continue;
        const parsed = JSON.parse(summary) as StorageSummary;
        if (!options.namespaces || options.namespaces(parsed.namespace)) summaries.push(parsed);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return summaries;
  }

  async history(
    key: string,
    options: { limit?: number; transitionsOnly?: boolean } = {},
  ): Promise<HistoryEntry[]> {
    const { sdk, client } = await this.#connect();
    const limit = options.limit ?? 100;
    const entries: HistoryEntry[] = [];
    let start: Item | undefined;
    do {
      const page = await client.send(
        new sdk.QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#k = :k AND begins_with(sk, :h)',
          ExpressionAttributeNames: {
            '#k': 'key',
            ...(options.transitionsOnly ? { '#t': 'transition' } : {}),
          },
          ExpressionAttributeValues: {
            ':k': { S: key },
            ':h': { S: 'h#' },
            ...(options.transitionsOnly ? { ':t': { BOOL: true } } : {}),
          },
          ...(options.transitionsOnly ? { FilterExpression: '#t = :t' } : {}),
          ScanIndexForward: false,
          Limit: Math.min(limit, 500),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const doc = text(item, 'doc');
        if (doc && entries.length < limit) entries.push((JSON.parse(doc) as Claim).entry);
      }
      start = entries.length < limit ? page.LastEvaluatedKey : undefined;
    } while (start);
    return entries;
  }

  async close(): Promise<void> {
    if (!this.#sdk || this.#options.client) return;
    (await this.#sdk).client.destroy();
  }

  // VersionedLog

  async readLatest(key: string): Promise<StorageRecord | undefined> {
    const { sdk, client } = await this.#connect();
    const answer = await client.send(
      new sdk.GetItemCommand({
        TableName: this.#table,
        Key: { key: { S: key }, sk: { S: LATEST_SK } },
        ConsistentRead: true,
      }),
    );
    const doc = text(answer.Item, 'doc');
    return doc ? (JSON.parse(doc) as StorageRecord) : undefined;
  }

  async claim(claim: Claim): Promise<boolean> {
    const { sdk, client } = await this.#connect();
    const expiresAt = Math.floor(Date.parse(claim.entry.at) / 1000) + this.#historySeconds;
    try {
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.#table,
          Item: {
            key: { S: claim.entry.key },
            sk: { S: versionSk(claim.entry.version) },
            doc: { S: JSON.stringify(claim) },
            transition: { BOOL: claim.entry.transition },
            expiresAt: { N: String(Number.isFinite(expiresAt) ? expiresAt : Math.floor(Date.now() / 1000)) },
          },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async readClaim(key: string, version: number): Promise<Claim | undefined> {
    const { sdk, client } = await this.#connect();
    const answer = await client.send(
      new sdk.GetItemCommand({
        TableName: this.#table,
        Key: { key: { S: key }, sk: { S: versionSk(version) } },
        ConsistentRead: true,
      }),
    );
    const doc = text(answer.Item, 'doc');
    return doc ? (JSON.parse(doc) as Claim) : undefined;
  }

  async writeLatest(record: StorageRecord, expected: number): Promise<boolean> {
    const { sdk, client } = await this.#connect();
    try {
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.#table,
          Item: {
            key: { S: record.key },
            sk: { S: LATEST_SK },
            doc: { S: JSON.stringify(record) },
            version: { N: String(record.version) },
            listPk: { S: LIST_PARTITION },
            listSk: { S: record.key },
            summary: { S: JSON.stringify(summaryOf(record)) },
          },
          ConditionExpression:
            expected === 0 ? 'attribute_not_exists(#k)' : 'attribute_not_exists(#k) OR #ver = :v',
          ExpressionAttributeNames: { '#k': 'key', ...(expected === 0 ? {} : { '#ver': 'version' }) },
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(expected) } } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** The table's definition, as serverless.yml declares it (tests create it on dynalite from this). */
export function tableDefinition(table: string) {
  return {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: 'key', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
      { AttributeName: 'listPk', AttributeType: 'S' as const },
      { AttributeName: 'listSk', AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: 'key', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: LIST_INDEX,
        KeySchema: [
          { AttributeName: 'listPk', KeyType: 'HASH' as const },
          { AttributeName: 'listSk', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ['summary'] },
      },
    ],
  };
}
