// Reads a note the way a Markdown renderer would, to check what a reader of the note would see.

/** The note with fenced code blocks blanked out (fences closed by a run at least as long). */
export function outsideFences(note: string): string {
  const out: string[] = [];
  let open: { char: string; length: number } | undefined;
  for (const line of note.split("\n")) {
    const stripped = line.replace(/^(> ?)+/, "");
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(stripped);
    if (open) {
      if (fence?.[1] && fence[1][0] === open.char && fence[1].length >= open.length && !fence[2]?.trim()) open = undefined;
      out.push("");
      continue;
    }
    if (fence?.[1] && !(fence[1][0] === "`" && fence[2]?.includes("`"))) {
      open = { char: fence[1][0] as string, length: fence[1].length };
      out.push("");
      continue;
    }
    out.push(line.replace(/(`+)[^`]*?\1/g, ""));
  }
  return out.join("\n");
}

/** `## ` sections of the note outside code, as { heading, text }. */
export function noteSections(note: string): { heading: string; text: string }[] {
  const visible = outsideFences(note).split("\n");
  const original = note.split("\n");
  const sections: { heading: string; text: string }[] = [];
  visible.forEach((line, index) => {
    if (/^## /.test(line)) sections.push({ heading: line.slice(3).trim(), text: "" });
    else if (sections.length) (sections[sections.length - 1] as { text: string }).text += `${original[index]}\n`;
  });
  return sections;
}
