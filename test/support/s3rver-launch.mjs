/**
 * Starts the s3rver CLI with one emulator race closed. After a DELETE, s3rver removes the key's
 * directories once they are empty; a PUT of a sibling key that has just created the same directory then
 * opens its file in a directory that is gone, and the write stream's unhandled ENOENT ends the whole
 * process (seen in CI: a claim PUT beside a probe DELETE; the conformance test "keeps sibling writes that
 * race deletes" reproduces it). Real S3 has no directories, and s3rver lists keys from files only, so
 * leaving empty directories in place changes nothing a client can observe. Arguments are the CLI's own.
 */
import { unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('s3rver/package.json'));
const FilesystemStore = require(join(root, 'lib', 'stores', 'filesystem.js'));

FilesystemStore.prototype.deleteObject = async function deleteObjectKeepingDirectories(bucket, key) {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((resource) =>
      unlink(this.getResourcePath(bucket, key, resource)).catch((error) => {
        if (error.code !== 'ENOENT') throw error;
      }),
    ),
  );
};

await import(pathToFileURL(join(root, 'bin', 's3rver.js')).href);
