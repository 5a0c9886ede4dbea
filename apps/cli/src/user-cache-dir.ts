import { isAbsolute, join } from "node:path";

/**
 * The host user's cache directory: `$XDG_CACHE_HOME`, else `~/.cache`. The XDG spec says a relative
 * XDG_CACHE_HOME is invalid and must be ignored. No dependencies: bin/sbx.js loads it before the
 * compile cache it places there is on.
 */
export function userCacheDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  return env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(home, ".cache");
}
