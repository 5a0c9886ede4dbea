/** The owner and permission bits of the workspace directory, as `stat` reports them. */
export interface DirectoryOwnership {
  uid: number;
  gid: number;
  mode: number;
}

export interface WorkspaceUser {
  /** The sandbox user's ids: never root. */
  uid: number;
  gid: number;
  /** Whether that user can create files in the workspace (write and search on the directory). */
  writable: boolean;
  /** Why not, and what to do, for the audit. */
  note?: string;
}

/** The image's own sandbox user when sbx has no non-root ids to borrow. */
const FALLBACK = { uid: 1000, gid: 1000 };

/**
 * Which user the sandbox runs as for this workspace, and whether it can write there.
 * - Run by a normal user: that user's ids, so files the agent writes keep their owner.
 * - Run as root (`sudo sbx up`): the project owner's ids when the owner is not root, so the
 *   agent writes as the owner would; a root-owned project gets the image's user 1000:1000,
 *   which cannot write it — and the audit says so instead of promising "read-write".
 * The sandbox never runs as root, whoever runs sbx.
 */
export function workspaceUser(host: { uid: number; gid: number }, dir: DirectoryOwnership, path: string): WorkspaceUser {
  const ids = host.uid > 0 && host.gid > 0 ? { uid: host.uid, gid: host.gid } : dir.uid > 0 && dir.gid > 0 ? { uid: dir.uid, gid: dir.gid } : FALLBACK;
  const bits = ids.uid === dir.uid ? (dir.mode >> 6) & 0o7 : ids.gid === dir.gid ? (dir.mode >> 3) & 0o7 : dir.mode & 0o7;
  const writable = (bits & 0o3) === 0o3;
  if (writable) return { ...ids, writable };
  const owner = dir.uid === 0 ? "root" : `uid ${dir.uid}`;
  return {
    ...ids,
    writable,
    note:
      `read-only for the sandbox user ${ids.uid}:${ids.gid}: ${path} belongs to ${owner} (${dir.uid}:${dir.gid}, mode ${(dir.mode & 0o7777).toString(8)}); ` +
      "run sbx as the project's owner, or give the sandbox user write access (chown/chmod)",
  };
}
