/**
 * The part of `backblaze-b2` 1.7.1 (a CommonJS module without type declarations) that lib/backends/b2/store.ts
 * uses. Every call takes `axios` (merged under the call's own options) and `axiosOverride` (merged over
 * them); each resolves to the axios response, whose `data` is B2's JSON answer.
 */
declare module 'backblaze-b2' {
  interface B2Response<T = unknown> {
    status: number;
    data: T;
    headers: Record<string, unknown>;
  }

  interface B2RequestConfig {
    axios?: Record<string, unknown>;
    axiosOverride?: Record<string, unknown>;
  }

  interface B2Options {
    accountId?: string;
    applicationKeyId?: string;
    applicationKey: string;
    axios?: Record<string, unknown>;
    retry?: Record<string, unknown>;
  }

  class B2 {
    constructor(options: B2Options);
    accountId: string | null;
    authorizationToken: string | null;
    apiUrl: string | null;
    downloadUrl: string | null;

    authorize(args?: B2RequestConfig): Promise<B2Response>;
    createBucket(args: B2RequestConfig & { bucketName: string; bucketType: string }): Promise<B2Response>;
    getBucket(args: B2RequestConfig & { bucketName?: string; bucketId?: string }): Promise<B2Response>;
    getUploadUrl(args: B2RequestConfig & { bucketId: string }): Promise<B2Response>;
    uploadFile(
      args: B2RequestConfig & {
        uploadUrl: string;
        uploadAuthToken: string;
        fileName: string;
        data: Uint8Array;
        hash?: string;
        mime?: string;
        contentLength?: number;
      },
    ): Promise<B2Response>;
    listFileNames(
      args: B2RequestConfig & {
        bucketId: string;
        startFileName?: string;
        maxFileCount?: number;
        prefix?: string;
        delimiter?: string;
      },
    ): Promise<B2Response>;
    listFileVersions(
      args: B2RequestConfig & {
        bucketId: string;
        startFileName?: string;
        startFileId?: string;
        maxFileCount?: number;
      },
    ): Promise<B2Response>;
    getFileInfo(args: B2RequestConfig & { fileId: string }): Promise<B2Response>;
    downloadFileByName(
      args: B2RequestConfig & { bucketName: string; fileName: string; responseType?: string },
    ): Promise<B2Response>;
    deleteFileVersion(args: B2RequestConfig & { fileId: string; fileName: string }): Promise<B2Response>;
    hideFile(args: B2RequestConfig & { bucketId: string; fileName: string }): Promise<B2Response>;
  }

  export = B2;
}
