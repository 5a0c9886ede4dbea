import { describe, expect, it } from "vitest";
import { copyStats, copyStatsInto, emptyStats, type SessionStats } from "./session-stats.js";

/** Every field of `emptyStats` set to a value of its own, so a field copyStatsInto forgets shows. */
function filledStats(): SessionStats {
  const stats = emptyStats("claude");
  let counter = 0;
  for (const key of Object.keys(stats) as (keyof SessionStats)[]) {
    const value = stats[key];
    counter += 1;
    if (key === "agent") continue;
    if (key === "tokens") stats.tokens = { input: counter, output: counter + 1, cacheCreation: counter + 2, cacheRead: counter + 3 };
    else if (Array.isArray(value)) (stats as unknown as Record<string, unknown>)[key] = [`${key}-a`, `${key}-b`];
    else if (typeof value === "number") (stats as unknown as Record<string, unknown>)[key] = counter;
    else (stats as unknown as Record<string, unknown>)[key] = `${key}-${counter}`;
  }
  return stats;
}

describe("copyStatsInto", () => {
  it("makes an earlier copy equal to the current totals, field for field, with arrays of its own", () => {
    const current = filledStats();
    const earlier = copyStats(emptyStats("claude"));
    const arrays = { models: earlier.models, linkedSubagents: earlier.linkedSubagents, tokens: earlier.tokens };
    copyStatsInto(earlier, current);
    expect(earlier).toStrictEqual(current);
    // The copy keeps its own arrays: later changes to the totals do not reach it.
    expect(earlier.models).toBe(arrays.models);
    expect(earlier.linkedSubagents).toBe(arrays.linkedSubagents);
    expect(earlier.tokens).toBe(arrays.tokens);
    current.models.push("later");
    current.tokens.input += 100;
    expect(earlier.models).toEqual(["models-a", "models-b"]);
    expect(earlier.tokens.input).not.toBe(current.tokens.input);
  });

  it("shortens arrays that were longer and adds no optional field the totals lack", () => {
    const current = emptyStats("codex");
    delete current.firstCommand;
    delete current.shortPrompt;
    const earlier = copyStats(current);
    earlier.models.push("a", "b", "c");
    copyStatsInto(earlier, current);
    expect(earlier).toStrictEqual(current);
    expect("firstCommand" in earlier).toBe(false);
  });
});
