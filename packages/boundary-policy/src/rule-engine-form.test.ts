import { describe, expect, it } from "vitest";
import { deriveEngineForm, engineForm, serializeEngineForm } from "./rule-engine-form.js";
import { PRECOMPUTED_ENGINE_FORMS } from "./rule-engine-forms.generated.js";
import { TOKEN_RULES } from "./token-rules.js";

const REGENERATE = "the table is stale: run `pnpm --filter @sbx/boundary-policy build && pnpm --filter @sbx/boundary-policy generate:engine-forms`";

describe("the build-time table of the rules' engine forms", () => {
  it("holds exactly the forms derived from today's rules, one per rule", () => {
    expect(Object.keys(PRECOMPUTED_ENGINE_FORMS).sort(), REGENERATE).toEqual(TOKEN_RULES.map((rule) => rule.id).sort());
    for (const rule of TOKEN_RULES) {
      expect(PRECOMPUTED_ENGINE_FORMS[rule.id], `${rule.id}: ${REGENERATE}`).toEqual(serializeEngineForm(rule, deriveEngineForm(rule)));
    }
  });

  it("gives the scanner the same start literals, tables and pattern as deriving them does", () => {
    for (const rule of TOKEN_RULES) {
      const stored = engineForm(rule);
      const derived = deriveEngineForm(rule);
      expect(stored.global.source).toBe(derived.global.source);
      expect(stored.global.flags).toBe(derived.global.flags);
      expect(stored.anchors).toEqual(derived.anchors);
    }
  });

  it("derives the form of a rule whose pattern the table does not hold, never another pattern's", () => {
    const changed = { id: "github-pat", pattern: /ghx_[0-9A-Za-z]{36,255}/dg };
    expect(engineForm(changed).anchors?.prefixes).toEqual(["ghx_"]);
    expect(engineForm(changed).global.source).toBe("ghx_[0-9A-Za-z]{36,255}");
    const unknown = { id: "not-a-rule", pattern: /zz_[a-z]{20}/g };
    expect(engineForm(unknown).anchors?.prefixes).toEqual(["zz_"]);
  });
});
