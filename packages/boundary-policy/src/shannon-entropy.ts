const asciiCounts = new Int32Array(128);

/** Bits per character, as gitleaks computes it: placeholders like `xxxx` score near 0. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  // Tokens are ASCII: count in a reused array (a Map per call dominated the scan's profile).
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128) {
      ascii = false;
      break;
    }
    asciiCounts[code] = (asciiCounts[code] as number) + 1;
  }
  let bits = 0;
  if (ascii) {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const count = asciiCounts[code] as number;
      if (count === 0) continue;
      const p = count / text.length;
      bits -= p * Math.log2(p);
      asciiCounts[code] = 0;
    }
    return bits;
  }
  asciiCounts.fill(0);
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
