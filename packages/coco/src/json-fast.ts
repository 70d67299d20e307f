// A JSON parser for COCO files that JSON.parse cannot match on their shape: keypoint arrays
// land straight in shared Float64Array slabs (no boxed array per record, far less GC), and
// fields an evaluation never reads (keypoints of a box evaluation) are checked for syntax and
// left out instead of converted. Values are the same as JSON.parse's: numbers exact (see
// parseNumber), strings through JSON.parse whenever they hold an escape. On any syntax error
// it throws FastJsonSyntaxError and the caller re-reads the text with the parsers that name
// the place of the error.

/** Thrown on text that is not JSON; io.ts then reports the error through its own readers. */
export class FastJsonSyntaxError extends SyntaxError {
  constructor(readonly offset: number) {
    super(`invalid JSON at character ${offset}`);
  }
}

/** What the parser does with the values of some object keys. */
export interface FastJsonShape {
  /** Keys whose array of numbers becomes a Float64Array view of a shared slab. */
  numberArrays?: ReadonlySet<string>;
  /**
   * A key whose value is syntax-checked and left out of the object, unless the object lacks
   * `unlessMissing` (then the value is parsed as usual: a result without a box needs its
   * keypoints to derive one).
   */
  skip?: { key: string; unlessMissing: string };
}

const SLAB = 1 << 16;
/** Exact powers of ten as doubles (10^22 is the largest). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const NONE: ReadonlySet<string> = new Set();
/** COCO's record keys by (first character, length); at most one per slot, checked at build. */
const KNOWN_KEYS = new Map<number, string>();
for (const key of ['id', 'image_id', 'category_id', 'bbox', 'score', 'area', 'iscrowd', 'keypoints', 'num_keypoints', 'segmentation', 'width', 'height', 'file_name', 'name']) {
  const slot = key.charCodeAt(0) * 64 + key.length;
  if (!KNOWN_KEYS.has(slot)) KNOWN_KEYS.set(slot, key);
}
const JSON_NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
const WS = '[ \\t\\n\\r]*';
/** A JSON array of numbers, whitespace as JSON allows (a skipped value is checked for syntax only). */
const NUMBER_ARRAY = new RegExp(`\\[${WS}(?:${JSON_NUMBER}(?:${WS},${WS}${JSON_NUMBER})*${WS})?\\]`, 'y');

/** Parses `text` (a whole JSON document) per `shape`; throws FastJsonSyntaxError on invalid JSON. */
export function parseJsonFast(text: string, shape: FastJsonShape = {}): unknown {
  const p = new Parser(text, shape);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.pos !== text.length) p.fail();
  return v;
}

class Parser {
  pos = 0;
  private slab = new Float64Array(SLAB);
  private slabUsed = 0;
  private scratch = new Float64Array(64);
  private readonly numberArrays: ReadonlySet<string>;
  private readonly skipKey: string | undefined;
  private readonly unlessMissing: string;

  constructor(
    private readonly text: string,
    shape: FastJsonShape,
  ) {
    this.numberArrays = shape.numberArrays ?? NONE;
    this.skipKey = shape.skip?.key;
    this.unlessMissing = shape.skip?.unlessMissing ?? '';
  }

  fail(at = this.pos): never {
    throw new FastJsonSyntaxError(at);
  }

  ws(): void {
    const t = this.text;
    let i = this.pos;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.pos = i;
  }

  value(): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === 123) return this.object();
    if (c === 91) return this.array();
    if (c === 34) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(false);
    if (this.literal('true')) return true;
    if (this.literal('false')) return false;
    if (this.literal('null')) return null;
    return this.fail();
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  private object(): Record<string, unknown> {
    const t = this.text;
    const obj: Record<string, unknown> = {};
    let skipped = -1; // where the skipped value started, to parse it if the object needs it after all
    this.pos++;
    if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    if (t.charCodeAt(this.pos) === 125) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (t.charCodeAt(this.pos) !== 34) this.fail();
      const key = this.string();
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      if (t.charCodeAt(this.pos) !== 58) this.fail();
      this.pos++;
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      if (key === this.skipKey) {
        skipped = this.pos;
        this.skipValue();
      } else {
        const value = this.numberArrays.has(key) && t.charCodeAt(this.pos) === 91 ? this.numberArray() : this.value();
        // JSON.parse makes "__proto__" an own property; a plain assignment would set the prototype
        if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
      }
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 125) break;
      if (c !== 44) this.fail(this.pos - 1);
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    }
    if (skipped >= 0 && obj[this.unlessMissing] === undefined) this.parseSkipped(obj, this.skipKey!, skipped);
    return obj;
  }

  /** Parses a value that was skipped, for an object that turned out to need it. */
  private parseSkipped(obj: Record<string, unknown>, key: string, at: number): void {
    const end = this.pos;
    this.pos = at;
    obj[key] = this.numberArrays.has(key) && this.text.charCodeAt(at) === 91 ? this.numberArray() : this.value();
    this.pos = end;
  }

  private array(): unknown[] {
    const t = this.text;
    const list: unknown[] = [];
    this.pos++;
    if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    if (t.charCodeAt(this.pos) === 93) {
      this.pos++;
      return list;
    }
    for (;;) {
      list.push(this.value());
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 93) return list;
      if (c !== 44) this.fail(this.pos - 1);
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    }
  }

  /** An array of numbers as a slab view; any other element makes it a plain array, as JSON.parse would. */
  private numberArray(): Float64Array | unknown[] {
    const t = this.text;
    const start = this.pos;
    this.pos++;
    if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    let n = 0;
    if (t.charCodeAt(this.pos) === 93) {
      this.pos++;
      return this.toSlab(0);
    }
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (!(c === 45 || (c >= 48 && c <= 57))) {
        this.pos = start;
        return this.array();
      }
      if (n === this.scratch.length) {
        const bigger = new Float64Array(2 * n);
        bigger.set(this.scratch);
        this.scratch = bigger;
      }
      this.scratch[n++] = this.number(false) as number;
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      const d = t.charCodeAt(this.pos);
      this.pos++;
      if (d === 93) return this.toSlab(n);
      if (d !== 44) this.fail(this.pos - 1);
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
    }
  }

  private toSlab(n: number): Float64Array {
    if (n > SLAB) return this.scratch.slice(0, n);
    if (this.slabUsed + n > SLAB) {
      this.slab = new Float64Array(SLAB);
      this.slabUsed = 0;
    }
    const view = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    view.set(this.scratch.subarray(0, n));
    this.slabUsed += n;
    return view;
  }

  /** Checks the syntax of one value without building it. */
  private skipValue(): void {
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    if (c === 91) {
      // an array of numbers (the common case) in one pass of a compiled regular expression
      NUMBER_ARRAY.lastIndex = this.pos;
      if (NUMBER_ARRAY.test(t)) {
        this.pos = NUMBER_ARRAY.lastIndex;
        return;
      }
    }
    if (c === 91 || c === 123) {
      const close = c === 91 ? 93 : 125;
      this.pos++;
      if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      if (t.charCodeAt(this.pos) === close) {
        this.pos++;
        return;
      }
      for (;;) {
        if (close === 125) {
          if (t.charCodeAt(this.pos) !== 34) this.fail();
          this.skipString();
          if (this.text.charCodeAt(this.pos) <= 32) this.ws();
          if (t.charCodeAt(this.pos) !== 58) this.fail();
          this.pos++;
          if (this.text.charCodeAt(this.pos) <= 32) this.ws();
        }
        this.skipValue();
        if (this.text.charCodeAt(this.pos) <= 32) this.ws();
        const d = t.charCodeAt(this.pos);
        this.pos++;
        if (d === close) return;
        if (d !== 44) this.fail(this.pos - 1);
        if (this.text.charCodeAt(this.pos) <= 32) this.ws();
      }
    }
    if (c === 34) this.skipString();
    else if (c === 45 || (c >= 48 && c <= 57)) this.number(true);
    else this.value();
  }

  private skipString(): void {
    const t = this.text;
    let i = this.pos + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (c < 32 || Number.isNaN(c)) this.fail(i);
      if (c === 92) {
        this.string(); // rare: escapes are checked by JSON.parse (this.pos is still the opening quote)
        return;
      }
      i++;
    }
    this.pos = i + 1;
  }

  private string(): string {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) return this.escapedString(start);
      if (c < 32 || Number.isNaN(c)) this.fail(i);
      i++;
    }
    this.pos = i + 1;
    // COCO's own keys as constants: no new string (nor its hashing as a property name) per record
    const known = KNOWN_KEYS.get(t.charCodeAt(start + 1) * 64 + (i - start - 1));
    if (known !== undefined && t.startsWith(known, start + 1)) return known;
    return t.slice(start + 1, i);
  }

  private escapedString(start: number): string {
    const t = this.text;
    let i = start + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (Number.isNaN(c)) this.fail(i);
      if (c === 34) break;
      i += c === 92 ? 2 : 1;
    }
    this.pos = i + 1;
    try {
      return JSON.parse(t.slice(start, i + 1)) as string;
    } catch {
      return this.fail(start);
    }
  }

  /**
   * One JSON number, checked against the grammar. When its digits form an integer below 2^53
   * (so every step of accumulating them was exact) and its decimal exponent is within ±22 (an
   * exact power of ten), one correctly rounded multiplication or division gives the correctly
   * rounded value (Clinger's fast path), equal to JSON.parse's; other numbers go through
   * Number(), the conversion JSON.parse uses. `syntaxOnly` skips the conversion where it cannot matter
   * (a number with no exponent and under 300 digits is finite).
   */
  number(syntaxOnly: boolean): number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    let c = t.charCodeAt(i);
    const negative = c === 45;
    if (negative) c = t.charCodeAt(++i);
    let mantissa = 0, intDigits = 0, fracDigits = 0;
    if (c === 48) {
      c = t.charCodeAt(++i);
      intDigits = 1;
    } else if (c >= 49 && c <= 57) {
      do {
        mantissa = mantissa * 10 + (c - 48);
        intDigits++;
        c = t.charCodeAt(++i);
      } while (c >= 48 && c <= 57);
    } else this.fail(i);
    if (c === 46) {
      c = t.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) this.fail(i);
      do {
        mantissa = mantissa * 10 + (c - 48);
        fracDigits++;
        c = t.charCodeAt(++i);
      } while (c >= 48 && c <= 57);
    }
    let exponent = 0;
    let hasExponent = false;
    if (c === 101 || c === 69) {
      hasExponent = true;
      c = t.charCodeAt(++i);
      let expNegative = false;
      if (c === 43 || c === 45) {
        expNegative = c === 45;
        c = t.charCodeAt(++i);
      }
      if (!(c >= 48 && c <= 57)) this.fail(i);
      do {
        if (exponent < 1e6) exponent = exponent * 10 + (c - 48);
        c = t.charCodeAt(++i);
      } while (c >= 48 && c <= 57);
      if (expNegative) exponent = -exponent;
    }
    this.pos = i;
    if (syntaxOnly && !hasExponent && intDigits < 300) return 0;
    const e10 = exponent - fracDigits;
    if (mantissa <= Number.MAX_SAFE_INTEGER && e10 >= -22 && e10 <= 22) {
      const v = e10 < 0 ? mantissa / POW10[-e10] : mantissa * POW10[e10];
      return negative ? -v : v;
    }
    return Number(t.slice(start, i));
  }
}
