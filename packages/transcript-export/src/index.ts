export { renderClaudeSession, renderCodexSession, renderGeminiSession } from "./render-session.js";
export type { RenderOptions } from "./render-options.js";
export type { MalformedLine } from "./transcript-reader.js";
export type { AgentName } from "./session-stats.js";
export { ExportError, type ExportErrorCode } from "./errors.js";
export { exportSessions, type ExportOptions, type ExportResult, type NoteProject } from "./export-sessions.js";
