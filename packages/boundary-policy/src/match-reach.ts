/** How far a rule's regex can read, for redaction's check beside its markers (redact-text.ts). */
export interface MatchReach {
  /**
   * The longest match plus every character its lookarounds may read beyond it, in UTF-16 code
   * units, with each long run (below) counted as `longRun` characters; `Infinity` when a repeat
   * of more than one character is unbounded or the syntax is not understood.
   */
  readonly reach: number;
  /**
   * The single-character atoms (`[A-Za-z0-9+/]`, `\s`, `.`) repeated more than `longRun` times,
   * each once: a match reads farther than `reach` only across a run of one of them longer than that.
   */
  readonly longAtoms: readonly string[];
}

/**
 * A bound, not the exact figure: a lookaround counts in full however little of it reaches past
 * the match, and each alternative's pieces add up as if all were taken. A lookaround inside a
 * repeat reads past the match once on each side, not once per repetition: a repetition's reads
 * lie within the lookaround's reach of where it stands, and it stands inside the match.
 */
export function matchReach(pattern: RegExp, longRun = Infinity): MatchReach {
  // Under `v` classes nest (not read here); under `u` one atom can take a surrogate pair.
  if (pattern.flags.includes("v")) return { reach: Infinity, longAtoms: [] };
  const reader = new ReachReader(pattern.source, pattern.flags.includes("u") ? 2 : 1, longRun);
  try {
    const { total } = reader.alternation();
    return { reach: reader.at === pattern.source.length ? total : Infinity, longAtoms: [...reader.longAtoms] };
  } catch (error) {
    if (error instanceof NotUnderstood) return { reach: Infinity, longAtoms: [] };
    throw error;
  }
}

class NotUnderstood extends Error {}

/**
 * A piece's reach (`total`: what it consumes and its lookarounds read, added up), and apart the
 * most it consumes and the most its lookarounds read, for a repeat of it.
 */
interface Reach {
  readonly total: number;
  readonly consumed: number;
  readonly around: number;
}

const NOTHING: Reach = { total: 0, consumed: 0, around: 0 };

class ReachReader {
  at = 0;
  readonly longAtoms = new Set<string>();
  /** Per capture group, by number and by name: its reach, for backreferences. */
  private readonly groups: number[] = [];
  private readonly named = new Map<string, number>();
  /** The last atom read matches one character (a class, an escape, a literal). */
  private single = false;
  /**
   * Per open group: the one-character atoms read inside it, or undefined once it holds anything
   * else (a lookaround, a backreference): a repeat of such a group matches a run of their union.
   */
  private readonly inside: Array<string[] | undefined> = [];

  constructor(
    private readonly source: string,
    private readonly unit: number,
    private readonly longRun: number,
  ) {}

  alternation(): Reach {
    let reach = this.sequence();
    while (this.source[this.at] === "|") {
      this.at++;
      const next = this.sequence();
      reach = { total: Math.max(reach.total, next.total), consumed: Math.max(reach.consumed, next.consumed), around: Math.max(reach.around, next.around) };
    }
    return reach;
  }

  private sequence(): Reach {
    let total = 0;
    let consumed = 0;
    let around = 0;
    while (this.at < this.source.length && this.source[this.at] !== "|" && this.source[this.at] !== ")") {
      const piece = this.repeated();
      total += piece.total;
      consumed += piece.consumed;
      around += piece.around;
    }
    return { total, consumed, around };
  }

  private repeated(): Reach {
    const start = this.at;
    const atom = this.atom();
    const single = this.single;
    const source = single ? this.source.slice(start, this.at) : this.union;
    const quantifier = /^(?:([*+?])|\{(\d+)(,(\d*))?\})\??/.exec(this.source.slice(this.at, this.at + 24));
    if (quantifier === null) return atom;
    this.at += quantifier[0].length;
    if (atom.total === 0) return NOTHING;
    const max = quantifier[1] === "?" ? 1 : quantifier[1] !== undefined ? Infinity : quantifier[3] === undefined ? Number(quantifier[2]) : quantifier[4] === "" ? Infinity : Number(quantifier[4]);
    if (atom.total * max <= this.longRun) return { total: atom.total * max, consumed: atom.consumed * max, around: atom.around };
    // Repeated, a lookaround reads past the match at most its own reach on either side.
    if (atom.around > 0 && atom.consumed * max <= this.longRun) return { total: atom.consumed * max + 2 * atom.around, consumed: atom.consumed * max, around: atom.around };
    if (source === undefined) return { total: Infinity, consumed: Infinity, around: atom.around };
    this.longAtoms.add(source);
    return { total: this.unit * this.longRun, consumed: this.unit * this.longRun, around: 0 };
  }

  private atom(): Reach {
    const char = this.source[this.at] as string;
    this.single = char !== "(";
    this.union = undefined;
    if (char === "(") return this.group();
    const start = this.at;
    const reach = char === "[" ? this.characterClass() : char === "\\" ? this.escape() : this.literal(char);
    if (this.single && reach > 0) for (const atoms of this.inside) atoms?.push(this.source.slice(start, this.at));
    return { total: reach, consumed: reach, around: 0 };
  }

  private literal(char: string): number {
    this.at++;
    if (char === "^" || char === "$") return 0;
    if ("*+?)|".includes(char)) throw new NotUnderstood();
    return this.unit;
  }

  /** The union of the one-character atoms inside the group just read, as an alternation, when it held nothing else. */
  private union: string | undefined;

  private group(): Reach {
    const head = /^\((\?(?::|<?[=!]|<([A-Za-z_$][A-Za-z0-9_$]*)>))?/.exec(this.source.slice(this.at)) as RegExpExecArray;
    this.at += head[0].length;
    const capture = head[1] === undefined || head[2] !== undefined;
    const number = capture ? this.groups.push(Infinity) - 1 : -1;
    const lookaround = head[1] !== undefined && /^\?<?[=!]$/.test(head[1]);
    if (lookaround) this.inside.fill(undefined);
    this.inside.push([]);
    const inner = this.alternation();
    if (this.source[this.at] !== ")") throw new NotUnderstood();
    this.at++;
    const atoms = this.inside.pop();
    this.union = atoms !== undefined && atoms.length > 0 ? atoms.join("|") : undefined;
    if (capture) this.groups[number] = inner.total;
    if (head[2] !== undefined) this.named.set(head[2], inner.total);
    this.single = false;
    // A lookaround consumes nothing but reads as far as its body reaches: counted in full.
    return lookaround ? { total: inner.total, consumed: 0, around: inner.total } : inner;
  }

  private characterClass(): number {
    this.at++;
    if (this.source[this.at] === "^") this.at++;
    // `[]` and `[^]`: the class closes at once.
    if (this.source[this.at] === "]") {
      this.at++;
      return this.unit;
    }
    while (this.at < this.source.length && this.source[this.at] !== "]") this.at += this.source[this.at] === "\\" ? 2 : 1;
    if (this.source[this.at] !== "]") throw new NotUnderstood();
    this.at++;
    return this.unit;
  }

  private escape(): number {
    const next = this.source[this.at + 1];
    if (next === undefined) throw new NotUnderstood();
    if (next === "b" || next === "B") {
      this.at += 2;
      return 0;
    }
    const backreference = /^\\(?:([1-9][0-9]*)|k<([A-Za-z_$][A-Za-z0-9_$]*)>)/.exec(this.source.slice(this.at));
    if (backreference !== null) {
      this.at += backreference[0].length;
      this.single = false;
      this.inside.fill(undefined);
      const reach = backreference[1] !== undefined ? this.groups[Number(backreference[1]) - 1] : this.named.get(backreference[2] as string);
      return reach ?? Infinity;
    }
    const escape = /^\\(?:u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|[pP]\{[^}]*\}|.)/s.exec(this.source.slice(this.at)) as RegExpExecArray;
    this.at += escape[0].length;
    return this.unit;
  }
}
