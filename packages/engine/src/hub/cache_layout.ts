/**
 * The Hugging Face cache layout, exactly as Python's huggingface_hub writes it, so a model pulled
 * here is found by Python tools and the other way round:
 *
 *   <cache>/models--org--name/
 *     blobs/<etag>                      file contents (etag = sha256 for LFS files, git sha1 otherwise)
 *     blobs/<etag>.incomplete           a download in progress (resumed with a Range request)
 *     refs/<revision>                   the commit hash a branch or tag pointed to (no newline)
 *     snapshots/<commit>/<filename>     relative symlink to ../../blobs/<etag>
 *     .no_exist/<commit>/<filename>     empty marker: the file does not exist at that commit
 */
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";

import { getRepoFolderName } from "@huggingface/hub";

import { WenxinError } from "../errors.js";

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** A cache lookup: the file, a recorded "does not exist", or nothing known. */
export type CachedEntry =
  { kind: "file"; path: string; commit: string } | { kind: "missing"; commit: string } | undefined;

/** Whether anything is at `p` (a file, a folder, a link that resolves). */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Rejects file names that would leave the snapshot folder. */
export function checkRelative(filename: string): void {
  const parts = filename.split("/");
  if (path.isAbsolute(filename) || filename.includes("\\") || parts.some((p) => p === ".." || p === "" || p === "."))
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `'${filename}' is not a file name inside a repository`, {
      subject: filename,
    });
}

export class RepoCache {
  /** models--org--name under the cache root. */
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = path.join(cacheDir, getRepoFolderName({ name: repoId, type: "model" }));
  }

  blobPath(etag: string): string {
    // Only a plain file name will do: `.` or `..` would name blobs/ itself or the repository folder.
    if (!/^[\w.-]{1,128}$/.test(etag) || /^\.+$/.test(etag))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_FILE",
        `the hub sent an unusable ETag '${etag.slice(0, 130)}' (expected a sha256 or git sha1)`,
        { subject: this.repoId },
      );
    return path.join(this.root, "blobs", etag);
  }

  snapshotDir(commit: string): string {
    return path.join(this.root, "snapshots", commit);
  }

  pointerPath(commit: string, filename: string): string {
    checkRelative(filename);
    return path.join(this.snapshotDir(commit), ...filename.split("/"));
  }

  private refPath(revision: string): string {
    checkRelative(revision);
    return path.join(this.root, "refs", ...revision.split("/"));
  }

  private noExistPath(commit: string, filename: string): string {
    checkRelative(filename);
    return path.join(this.root, ".no_exist", commit, ...filename.split("/"));
  }

  /** The commit a revision resolves to offline: itself if it is a hash, else refs/<revision>. */
  async commitFor(revision: string): Promise<string | undefined> {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = (await readFile(this.refPath(revision), "utf8")).trim();
      return COMMIT_HASH.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records which commit a branch or tag points to (nothing to record for a commit hash). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const file = this.refPath(revision);
    try {
      if ((await readFile(file, "utf8")) === commit) return;
    } catch {
      // not written yet
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, commit);
  }

  /** What the cache knows about `filename` at `revision`, without the network. */
  async lookup(revision: string, filename: string): Promise<CachedEntry> {
    const commit = await this.commitFor(revision);
    if (!commit) return undefined;
    const pointer = this.pointerPath(commit, filename);
    if (await exists(pointer)) return { kind: "file", path: pointer, commit };
    if (await exists(this.noExistPath(commit, filename))) return { kind: "missing", commit };
    return undefined;
  }

  async markMissing(commit: string, filename: string): Promise<void> {
    const marker = this.noExistPath(commit, filename);
    await mkdir(path.dirname(marker), { recursive: true });
    await writeFile(marker, "");
  }

  /** Points snapshots/<commit>/<filename> at blobs/<etag> with a relative symlink (a copy where links fail). */
  async linkSnapshot(commit: string, filename: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, filename);
    const blob = this.blobPath(etag);
    await mkdir(path.dirname(pointer), { recursive: true });
    // Made under a temporary name and renamed over the pointer, so concurrent callers never clash.
    const temp = `${pointer}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await symlink(path.relative(path.dirname(pointer), blob), temp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "EACCES" && code !== "ENOTSUP") throw err;
      await copyFile(blob, temp); // e.g. Windows without developer mode: same degraded mode as Python
    }
    try {
      await rename(temp, pointer);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return pointer;
  }
}
