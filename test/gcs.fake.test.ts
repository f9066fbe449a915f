/**
 * The contract fake's own wire behaviour, checked with raw HTTP against what Google documents for the
 * JSON API, so the adapter tests rest on a fake that answers the way GCS does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cBase64, startFakeGcs, type FakeGcs } from './fakes/gcs.js';

let fake: FakeGcs;
beforeAll(async () => {
  fake = await startFakeGcs();
  fake.createBucket('wire');
});
afterAll(async () => fake.stop());

async function upload(name: string, body: string, query = ''): Promise<Response> {
  const boundary = 'bsf-boundary';
  const payload = [
    `--${boundary}`,
    'Content-Type: application/json',
    '',
    JSON.stringify({ name, contentType: 'text/plain' }),
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    body,
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return fetch(`${fake.endpoint}/upload/storage/v1/b/wire/o?uploadType=multipart${query}`, {
    method: 'POST',
    headers: { 'content-type': `multipart/related; boundary=${boundary}` },
    body: payload,
  });
}

describe('contract fake of the GCS JSON API: wire format', () => {
  it('computes CRC32C as GCS reports it (the RFC 3720 check value)', () => {
    // CRC32C("123456789") = 0xE3069283
    expect(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').toString('hex')).toBe('e3069283');
  });

  it('stores generations and enforces ifGenerationMatch with 412 conditionNotMet', async () => {
    const first = (await (await upload('g/obj', 'one', '&ifGenerationMatch=0')).json()) as Record<
      string,
      string
    >;
    expect(first).toMatchObject({
      kind: 'storage#object',
      name: 'g/obj',
      size: '3',
      md5Hash: '+XxdKZQb+xsv2rCHSQargg==',
    });
    const conflict = await upload('g/obj', 'two', '&ifGenerationMatch=0');
    expect(conflict.status).toBe(412);
    expect(await conflict.json()).toMatchObject({
      error: { code: 412, errors: [{ domain: 'global', reason: 'conditionNotMet' }] },
    });
    const second = (await (
      await upload('g/obj', 'two', `&ifGenerationMatch=${first.generation}`)
    ).json()) as Record<string, string>;
    expect(BigInt(second.generation as string)).toBeGreaterThan(BigInt(first.generation as string));
    const media = await fetch(
      `${fake.endpoint}/storage/v1/b/wire/o/${encodeURIComponent('g/obj')}?alt=media`,
    );
    expect(await media.text()).toBe('two');
    expect(media.headers.get('x-goog-hash')).toBe(`crc32c=${second.crc32c},md5=${second.md5Hash}`);
  });

  it('answers missing buckets and objects with GCS’s 404 bodies', async () => {
    const bucket = await fetch(`${fake.endpoint}/storage/v1/b/nope/o?prefix=a`);
    expect(bucket.status).toBe(404);
    expect(await bucket.json()).toMatchObject({
      error: { code: 404, message: 'The specified bucket does not exist.', errors: [{ reason: 'notFound' }] },
    });
    const object = await fetch(`${fake.endpoint}/storage/v1/b/wire/o/missing`);
    expect(((await object.json()) as { error: { message: string } }).error.message).toBe(
      'No such object: wire/missing',
    );
  });

  it('pages with maxResults/nextPageToken and folds prefixes under a delimiter', async () => {
    for (const name of ['l/a', 'l/b/1', 'l/b/2', 'l/c', 'l/d/1']) await upload(name, 'x');
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({
        prefix: 'l/',
        delimiter: '/',
        maxResults: '2',
        ...(pageToken ? { pageToken } : {}),
      });
      const page = (await (await fetch(`${fake.endpoint}/storage/v1/b/wire/o?${query}`)).json()) as {
        items?: { name: string }[];
        prefixes?: string[];
        nextPageToken?: string;
      };
      expect((page.items?.length ?? 0) + (page.prefixes?.length ?? 0)).toBeLessThanOrEqual(2);
      seen.push(...(page.items ?? []).map((item) => item.name), ...(page.prefixes ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen.sort()).toEqual(['l/a', 'l/b/', 'l/c', 'l/d/']);
  });

  it('lists in UTF-8 byte order, not UTF-16 order, and forgets deleted names', async () => {
    // U+E000 is EE 80 80 in UTF-8, U+1F600 is F0 9F 98 80: byte order puts the emoji last, while
    // JavaScript's UTF-16 comparison (0xE000 vs the surrogate 0xD83D) would put it first.
    const names = ['u/\u{1F600}', 'u/\uE000', 'u/z', 'u/a/1', 'u/\u00E9'];
    for (const name of names) await upload(name, 'x');
    await upload('u/z', 'overwritten');
    await upload('u/gone', 'x');
    expect((await fetch(`${fake.endpoint}/storage/v1/b/wire/o/u%2Fgone`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const listAll = async (query: Record<string, string>): Promise<string[]> => {
      const seen: string[] = [];
      let pageToken: string | undefined;
      do {
        const params = new URLSearchParams({
          prefix: 'u/',
          maxResults: '1',
          ...query,
          ...(pageToken ? { pageToken } : {}),
        });
        const page = (await (await fetch(`${fake.endpoint}/storage/v1/b/wire/o?${params}`)).json()) as {
          items?: { name: string }[];
          prefixes?: string[];
          nextPageToken?: string;
        };
        seen.push(...(page.prefixes ?? []), ...(page.items ?? []).map((item) => item.name));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return seen;
    };
    expect(await listAll({})).toEqual(['u/a/1', 'u/z', 'u/\u00E9', 'u/\uE000', 'u/\u{1F600}']);
    expect(await listAll({ delimiter: '/' })).toEqual(['u/a/', 'u/z', 'u/\u00E9', 'u/\uE000', 'u/\u{1F600}']);
  });

  it('injects a fault a given number of times with GCS’s reason', async () => {
    fake.setFault('wire', { status: 429, times: 1 });
    const limited = await fetch(`${fake.endpoint}/storage/v1/b/wire`);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: { errors: [{ reason: 'rateLimitExceeded' }] } });
    expect((await fetch(`${fake.endpoint}/storage/v1/b/wire`)).status).toBe(200);
  });
});
