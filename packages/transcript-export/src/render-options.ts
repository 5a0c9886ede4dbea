/** Options shared by every renderer. */
export interface RenderOptions {
  /**
   * Render the model's thinking / reasoning blocks (in a folded `> [!quote]- Thinking` callout).
   * @default true
   */
  includeThinking?: boolean;
  /**
   * Tool results longer than this many characters say their size beside their label. Every tool
   * call is a folded Obsidian callout (`> [!example]- Tool: Bash`); nothing is ever cut.
   * @default 1500
   */
  foldResultsOver?: number;
  /**
   * Called for each image found in the session, with the file name the note links to (relative to
   * the note's directory) and the decoded bytes. Without it, images are still linked by that name
   * but nothing is written — the renderers stay pure.
   * @default undefined
   */
  onAsset?: (fileName: string, bytes: Uint8Array) => void;
  /**
   * Subagent transcripts of a Claude session (`agent-<id>.jsonl` beside the session or in
   * `<session>/subagents/`), keyed by agent id, as JSONL text. They are rendered under the Task
   * call whose result names that agent.
   * @default {}
   */
  subagents?: Record<string, string>;
}

export interface ResolvedRenderOptions {
  includeThinking: boolean;
  foldResultsOver: number;
  onAsset: (fileName: string, bytes: Uint8Array) => void;
  subagent: (agentId: string) => Iterable<string> | undefined;
  subagentIds: () => string[];
}

export function resolveRenderOptions(options: RenderOptions = {}): ResolvedRenderOptions {
  const subagents = options.subagents ?? {};
  return {
    includeThinking: options.includeThinking ?? true,
    foldResultsOver: options.foldResultsOver ?? 1500,
    onAsset: options.onAsset ?? (() => {}),
    subagent: (agentId) => {
      const text = Object.hasOwn(subagents, agentId) ? subagents[agentId] : undefined;
      return text === undefined ? undefined : text.split("\n");
    },
    subagentIds: () => Object.keys(subagents).sort(),
  };
}
