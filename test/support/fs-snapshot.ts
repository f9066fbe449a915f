/**
 * What a directory tree holds, for before/after comparisons in the attack suites: every entry below
 * `dir` as `path type size mtime`, sorted. Links are listed, not followed; an entry created, deleted,
 * rewritten or touched shows up as a difference.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function snapshot(dir: string): Promise<string[]> {
  const entries: string[] = [];
  const walk = async (path: string, name: string): Promise<void> => {
    const info = await lstat(path);
    const type = info.isSymbolicLink() ? 'link' : info.isDirectory() ? 'dir' : 'file';
    entries.push(`${name || '.'} ${type} ${info.isFile() ? info.size : 0} ${info.mtimeMs}`);
    if (info.isDirectory()) {
      for (const child of await readdir(path))
        await walk(join(path, child), name ? `${name}/${child}` : child);
    }
  };
  await walk(dir, '');
  return entries.sort();
}
