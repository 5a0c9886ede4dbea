/**
 * How an exported note (`@sbx/transcript-export`) shows a tool call, for tests of rules that must
 * read a command's output there as in a terminal: the output in a fence inside the call's callout,
 * each line behind `> `.
 */

/** `text` as the note shows a tool's output: fenced, each line behind `> `. */
export function inNoteCallout(text: string): string {
  return `> \`\`\`\n${text.split("\n").map((line) => (line ? `> ${line}` : ">")).join("\n")}\n> \`\`\`\n`;
}

/** A Bash call's callout up to where its output starts: title, fenced command, **Result** label, the output's fence and `> `. */
export function bashCalloutBefore(command: string): string {
  return `> [!example]- Tool: Bash \`${command.slice(0, 40)}\`\n> \`\`\`sh\n> ${command}\n> \`\`\`\n>\n> **Result**\n>\n> \`\`\`\n> `;
}
