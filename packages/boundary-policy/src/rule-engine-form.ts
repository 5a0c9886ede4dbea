/**
 * What the scanner runs for a rule: its start literals ({@link deriveAnchors}) and its pattern with
 * useless backtracking removed ({@link atomicRuns}) and no `d` flag when nothing is captured.
 * Deriving them parses every rule's source, ~15 ms on the first scan of every process (every
 * `sbx up`, and the sandbox's entrypoint at each start): so the forms of the built-in rules are
 * derived at build time into `rule-engine-forms.generated.ts`, and derived at run time only for
 * a rule whose pattern the table does not hold (a test keeps the table equal to the derivation).
 */
import { atomicRuns, deriveAnchors, deriveRunBreak, type Follow, type RuleAnchors, type RunBreak } from "./rule-anchors.js";
import { PRECOMPUTED_ENGINE_FORMS } from "./rule-engine-forms.generated.js";
import type { TokenRule } from "./token-rules.js";

export interface EngineForm {
  /** Undefined: no start literal could be pinned down (or the rule is windowed): scanned whole. */
  readonly anchors?: RuleAnchors;
  /** The pattern the engine runs (global). */
  readonly global: RegExp;
  /** Starts of `global` that a long run of one class rules out (see {@link RunBreak}). */
  readonly runBreak?: RunBreak;
  /**
   * A windowed rule's start literals, when it has a {@link runBreak}: its windows are then scanned
   * start by start, skipping those the break rules out, instead of by the global pattern.
   */
  readonly windowStarts?: { readonly prefixes: readonly string[]; readonly ignoreCase: boolean };
}

/** An {@link EngineForm} as plain data: tables as the characters they hold. */
export interface SerializedEngineForm {
  /** The rule's own pattern, so a changed rule is never given another pattern's form. */
  readonly pattern: string;
  readonly patternFlags: string;
  readonly source: string;
  readonly flags: string;
  readonly anchors?: {
    readonly prefixes: readonly string[];
    readonly ignoreCase: boolean;
    /** The characters the table holds. */
    readonly refusedBefore?: string;
    readonly follows: ReadonlyArray<{ readonly table: string; readonly min: number } | null>;
  };
  readonly runBreak?: { readonly table: string; readonly within: number };
  readonly windowStarts?: { readonly prefixes: readonly string[]; readonly ignoreCase: boolean };
}

type FormRule = Pick<TokenRule, "id" | "pattern" | "window">;

/** The form from the rule's source, as the build-time table is made. */
export function deriveEngineForm(rule: FormRule): EngineForm {
  const anchors = rule.window === undefined ? deriveAnchors(rule.pattern) : undefined;
  const global = withoutUnusedIndices(atomicRuns(rule.pattern));
  const runBreak = deriveRunBreak(global);
  const starts = runBreak !== undefined && rule.window !== undefined ? deriveAnchors(rule.pattern) : undefined;
  return {
    global,
    ...(anchors ? { anchors } : {}),
    ...(runBreak ? { runBreak } : {}),
    ...(starts ? { windowStarts: { prefixes: starts.prefixes, ignoreCase: starts.ignoreCase } } : {}),
  };
}

/** The table's form when it was made from this very pattern, else derived now. */
export function engineForm(rule: FormRule): EngineForm {
  const stored = PRECOMPUTED_ENGINE_FORMS[rule.id];
  if (stored && stored.pattern === rule.pattern.source && stored.patternFlags === rule.pattern.flags && (stored.anchors === undefined || rule.window === undefined)) {
    return deserializeEngineForm(stored);
  }
  return deriveEngineForm(rule);
}

/** A 128-entry table as the string of the characters it holds. */
const codesOf = (table: Uint8Array): string => String.fromCharCode(...[...table.keys()].filter((code) => table[code] !== 0));
const tableOf = (codes: string): Uint8Array => {
  const table = new Uint8Array(128);
  for (let i = 0; i < codes.length; i++) table[codes.charCodeAt(i)] = 1;
  return table;
};

export function serializeEngineForm(rule: FormRule, form: EngineForm): SerializedEngineForm {
  const { anchors } = form;
  return {
    pattern: rule.pattern.source,
    patternFlags: rule.pattern.flags,
    source: form.global.source,
    flags: form.global.flags,
    ...(anchors
      ? {
          anchors: {
            prefixes: anchors.prefixes,
            ignoreCase: anchors.ignoreCase,
            ...(anchors.refusedBefore ? { refusedBefore: codesOf(anchors.refusedBefore) } : {}),
            follows: anchors.follows.map((follow) => (follow ? { table: codesOf(follow.table), min: follow.min } : null)),
          },
        }
      : {}),
    ...(form.runBreak ? { runBreak: { table: codesOf(form.runBreak.table), within: form.runBreak.within } } : {}),
    ...(form.windowStarts ? { windowStarts: form.windowStarts } : {}),
  };
}

function deserializeEngineForm(stored: SerializedEngineForm): EngineForm {
  const global = new RegExp(stored.source, stored.flags);
  const extras = {
    ...(stored.runBreak ? { runBreak: { table: tableOf(stored.runBreak.table), within: stored.runBreak.within } } : {}),
    ...(stored.windowStarts ? { windowStarts: stored.windowStarts } : {}),
  };
  const anchors = stored.anchors;
  if (!anchors) return { global, ...extras };
  const follows: Array<Follow | undefined> = anchors.follows.map((follow) => (follow ? { table: tableOf(follow.table), min: follow.min } : undefined));
  return {
    global,
    ...extras,
    anchors: {
      prefixes: anchors.prefixes,
      ignoreCase: anchors.ignoreCase,
      ...(anchors.refusedBefore ? { refusedBefore: tableOf(anchors.refusedBefore) } : {}),
      follows,
    },
  };
}

/**
 * A pattern without capture groups needs no `d` flag (its span is the match): without it, each
 * run skips building the indices arrays.
 */
function withoutUnusedIndices(pattern: RegExp): RegExp {
  const groups = (new RegExp(`${pattern.source}|`).exec("") as RegExpExecArray).length - 1;
  return groups === 0 && pattern.flags.includes("d") ? new RegExp(pattern.source, pattern.flags.replace("d", "")) : pattern;
}
