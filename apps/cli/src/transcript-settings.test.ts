import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error.js";
import { autosaveIntervalMs, defaultInboxDir, transcriptCacheDir } from "./transcript-settings.js";

describe("autosaveIntervalMs", () => {
  it("defaults to three minutes", () => {
    expect(autosaveIntervalMs({})).toBe(180_000);
    expect(autosaveIntervalMs({ SBX_AUTOSAVE_INTERVAL: "" })).toBe(180_000);
  });

  it("reads whole seconds, and 0 turns periodic saves off", () => {
    expect(autosaveIntervalMs({ SBX_AUTOSAVE_INTERVAL: "30" })).toBe(30_000);
    expect(autosaveIntervalMs({ SBX_AUTOSAVE_INTERVAL: " 45 " })).toBe(45_000);
    expect(autosaveIntervalMs({ SBX_AUTOSAVE_INTERVAL: "0" })).toBe(0);
  });

  it.each(["abc", "-5", "1.5", "3m", "1e3", "99999999999"])("refuses %j with SBX_CONFIG_INVALID naming the variable", (value) => {
    const failure = (() => {
      try {
        return autosaveIntervalMs({ SBX_AUTOSAVE_INTERVAL: value });
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(CliError);
    expect(failure).toMatchObject({ code: "SBX_CONFIG_INVALID" });
    expect((failure as CliError).message).toContain("SBX_AUTOSAVE_INTERVAL");
    expect((failure as CliError).hint).toMatch(/seconds/);
  });
});

describe("inbox and cache locations", () => {
  it("uses $SANDBOX_INBOX_DIR, else ~/sbx-inbox", () => {
    expect(defaultInboxDir({ SANDBOX_INBOX_DIR: "/data/inbox" }, "/home/u")).toBe("/data/inbox");
    expect(defaultInboxDir({}, "/home/u")).toBe("/home/u/sbx-inbox");
  });

  it("keys the cache by state volume and project under $XDG_CACHE_HOME, else ~/.cache", () => {
    expect(transcriptCacheDir({ XDG_CACHE_HOME: "/c" }, "/home/u", "me-llm", "app-1a2b3c4d")).toBe("/c/sbx/sessions/me-llm/app-1a2b3c4d");
    expect(transcriptCacheDir({}, "/home/u", "me-llm", "app-1a2b3c4d")).toBe("/home/u/.cache/sbx/sessions/me-llm/app-1a2b3c4d");
    // The XDG spec: a relative path is invalid and ignored.
    expect(transcriptCacheDir({ XDG_CACHE_HOME: "rel" }, "/home/u", "me-llm", "app-1a2b3c4d")).toBe("/home/u/.cache/sbx/sessions/me-llm/app-1a2b3c4d");
  });

  it.each(["..", "a/b", "", ".hidden"])("refuses the cache key %j", (key) => {
    expect(() => transcriptCacheDir({}, "/home/u", key, "app-1a2b3c4d")).toThrow(CliError);
    expect(() => transcriptCacheDir({}, "/home/u", "me-llm", key)).toThrow(CliError);
  });
});
