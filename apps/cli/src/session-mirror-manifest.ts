import { readFile } from "node:fs/promises";
import { isAbsolute, resolve, sep } from "node:path";
import { writeFileAtomic } from "@sbx/atomic-file";
import { SESSION_STORES } from "./session-stores.js";

/** The host cache's record of the sandbox mtime each mirrored file had when it was fetched. */
export interface Manifest {
  version: 1;
  files: Record<string, { mtime: string }>;
}

export const MANIFEST_FILE = ".sbx-mirror.json";

export async function loadManifest(path: string): Promise<Manifest> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Manifest;
    if (parsed.version === 1 && parsed.files && typeof parsed.files === "object") return parsed;
  } catch {
    // Missing or damaged: every file is re-verified against its cached tail, nothing is lost.
  }
  return { version: 1, files: {} };
}

export async function saveManifest(path: string, manifest: Manifest): Promise<void> {
  // Not durable: a manifest lost in a crash only costs re-verifying each file's cached tail.
  await writeFileAtomic(path, JSON.stringify(manifest), { durable: false });
}

/**
 * Where a sandbox session file goes in the cache, or undefined when its name is unsafe: it must
 * sit under one of the mirrored stores, end in `.jsonl`/`.json`, and have no `..`, empty or
 * hidden-control segments, so nothing the sandbox names can land outside the cache.
 */
export function mirrorPathFor(cacheDir: string, rel: string): string | undefined {
  if (rel.length === 0 || rel.length > 1024 || isAbsolute(rel)) return undefined;
  // Control characters (a newline would also break the fetch protocol), backslashes, and bytes
  // that were not UTF-8 (decoded to U+FFFD, so the name could not be asked for again).
  if (/[\u0000-\u001f\u007f\\\ufffd]/.test(rel)) return undefined;
  if (!rel.endsWith(".jsonl") && !rel.endsWith(".json")) return undefined;
  if (!SESSION_STORES.some((store) => rel.startsWith(`${store.dir}/`))) return undefined;
  if (rel.split("/").some((segment) => segment === "" || segment === "." || segment === ".." || segment.length > 255)) return undefined;
  const base = resolve(cacheDir);
  const target = resolve(base, rel);
  return target.startsWith(`${base}${sep}`) ? target : undefined;
}
