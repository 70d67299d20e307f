// Splits a top-level JSON object, read in chunks, into its members; members whose value
// is an array named in `split` are delivered element by element. Each piece is parsed
// on its own, so a 240 MB COCO file is never one 240 MB string plus its whole parse.

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const COMMA = 0x2c, COLON = 0x3a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Bytes that may appear outside strings in JSON: whitespace, punctuation, numbers, true/false/null. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of ' \n\r\t{}[],:-+.0123456789eEtrufalsn') TOKEN_BYTE[c.charCodeAt(0)] = 1;
/** Bytes that may start a JSON value. */
const VALUE_START = new Uint8Array(256);
for (const c of '{["-0123456789tfn') VALUE_START[c.charCodeAt(0)] = 1;

function describeByte(b: number): string {
  return b >= 0x21 && b <= 0x7e ? JSON.stringify(String.fromCharCode(b)) : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/** True when the quote at `at` is escaped (an odd run of backslashes before it, after `open`). */
function escapedAt(buf: Buffer, at: number, open: number): boolean {
  let k = at - 1;
  while (k > open && buf[k] === BACKSLASH) k--;
  return (at - 1 - k) % 2 === 1;
}

/** Callbacks of the splitter: a whole member value, or one element of a split array. */
export interface SplitSink {
  member(key: string, text: string): void;
  element(key: string, index: number, text: string): void;
}

type State = 'start' | 'key' | 'colon' | 'value' | 'after-value' | 'elem' | 'after-elem' | 'end';
/** Where a list (of members or elements) stands: just opened, after a comma, after an item. */
type ListPhase = 'first' | 'need' | 'after';

/** Thrown for a byte sequence that is not a JSON object at the top level. */
export class JsonSplitError extends Error {}

/**
 * With `""` in `split`, a document that is an array at the top level is accepted too and
 * its elements are delivered with key "".
 *
 * A push parser: call `feed(chunk)` for each chunk, then `finish()`. It tracks only
 * strings and bracket depth; the pieces themselves are checked by JSON.parse.
 */
export class TopLevelSplitter {
  private buf: Buffer = Buffer.alloc(0);
  /** scan position within buf */
  private pos = 0;
  /** start of the piece being collected (-1: none) */
  private start = -1;
  private state: State = 'start';
  private depth = 0;
  private inString = false;
  private escape = false;
  private key = '';
  private index = 0;
  private consumed = 0;
  /** the document is an array (a results file): its elements are delivered under key "" */
  private topArray = false;
  /** commas: a list item is required after one, and only allowed after an item */
  private phase: ListPhase = 'first';

  constructor(private readonly split: ReadonlySet<string>, private readonly sink: SplitSink) {}

  private fail(what: string, at: number = this.pos): never {
    throw new JsonSplitError(`${what} at byte ${this.consumed + at}`);
  }

  feed(chunk: Buffer): void {
    // keep the unfinished piece (or nothing) and append the new bytes
    const keep = this.start >= 0 ? this.start : this.pos;
    this.buf = keep < this.buf.length ? Buffer.concat([this.buf.subarray(keep), chunk]) : chunk;
    this.consumed += keep;
    this.pos -= keep;
    if (this.start >= 0) this.start -= keep;
    this.scan();
  }

  finish(): void {
    if (this.state !== 'end') this.fail('unexpected end of JSON');
    for (; this.pos < this.buf.length; this.pos++) if (!isSpace(this.buf[this.pos])) this.fail('unexpected data after the top-level object');
  }

  /** Fails on a byte that can never appear at this point outside a string (fail fast on binary junk). */
  private checkToken(b: number, at: number): void {
    if (TOKEN_BYTE[b] === 0) this.fail(`unexpected ${describeByte(b)}`, at);
  }

  private text(from: number, to: number): string {
    return this.buf.toString('utf8', from, to);
  }

  /**
   * Hot loop inside a piece: skips bytes that cannot end it (strings via the native
   * indexOf, numbers, nested brackets) and returns the index of the next byte the state
   * machine must see, or `n` at the end of the chunk (then string state is saved).
   */
  private skipInside(from: number, n: number): number {
    const buf = this.buf;
    let depth = this.depth;
    let i = from;
    while (i < n) {
      const c = buf[i];
      if (c === QUOTE) {
        let j = buf.indexOf(QUOTE, i + 1);
        while (j !== -1 && j < n && escapedAt(buf, j, i)) j = buf.indexOf(QUOTE, j + 1);
        if (j === -1 || j >= n) {
          // the string runs past this chunk: let the byte-wise path carry its state
          this.depth = depth;
          return i;
        }
        i = j + 1;
        continue;
      }
      if (TOKEN_BYTE[c] === 0) {
        this.depth = depth;
        this.fail(`unexpected ${describeByte(c)}`, i);
      }
      if (c === LBRACE || c === LBRACKET) depth++;
      else if (c === RBRACE || c === RBRACKET) {
        if (depth <= 1) break;
        depth--;
      } else if (c === COMMA && depth === 0) break;
      i++;
    }
    this.depth = depth;
    return i;
  }

  private scan(): void {
    const buf = this.buf;
    const n = buf.length;
    let i = this.pos;
    while (i < n) {
      const b = buf[i];
      if (this.inString) {
        if (b < 0x20) this.fail(`unexpected control character ${describeByte(b)} in a string`, i);
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.state === 'key') {
            this.key = JSON.parse(this.text(this.start, i + 1)) as string;
            this.start = -1;
            this.state = 'colon';
          }
        }
        i++;
        continue;
      }
      switch (this.state) {
        case 'start':
          if (b === LBRACE) {
            this.state = 'key';
            this.phase = 'first';
          } else if (b === LBRACKET && this.split.has('')) {
            this.topArray = true;
            this.key = '';
            this.index = 0;
            this.state = 'elem';
            this.phase = 'first';
          } else if (!isSpace(b)) this.fail(this.split.has('') ? 'expected a JSON object or array' : 'expected a JSON object', i);
          break;
        case 'key':
          if (isSpace(b)) break;
          if (b === QUOTE && this.phase !== 'after') {
            this.start = i;
            this.inString = true;
          } else if (b === RBRACE && this.phase !== 'need') this.state = 'end';
          else if (b === COMMA && this.phase === 'after') this.phase = 'need';
          else this.fail(this.phase === 'after' ? `expected "," or "}", received ${describeByte(b)}` : `expected a member name, received ${describeByte(b)}`, i);
          break;
        case 'colon':
          if (b === COLON) this.state = 'value';
          else if (!isSpace(b)) this.fail('expected ":"', i);
          break;
        case 'value':
          if (isSpace(b)) break;
          if (b === LBRACKET && this.split.has(this.key)) {
            this.index = 0;
            this.state = 'elem';
            this.phase = 'first';
            this.sink.member(this.key, '[]');
            break;
          }
          if (VALUE_START[b] === 0) this.fail(`expected a JSON value, received ${describeByte(b)}`, i);
          this.start = i;
          this.depth = 0;
          this.state = 'after-value';
          continue; // re-read this byte as part of the value
        case 'after-value': {
          // inside a member value that is delivered whole
          const j = this.skipInside(i, n);
          if (j !== i) {
            i = j;
            continue;
          }
          if (b === QUOTE) this.inString = true;
          else if (b === LBRACE || b === LBRACKET) this.depth++;
          else if (b === RBRACE || b === RBRACKET) {
            if (this.depth === 0) {
              this.sink.member(this.key, this.text(this.start, i));
              this.start = -1;
              this.state = 'end';
              break;
            }
            this.depth--;
          } else if (b === COMMA && this.depth === 0) {
            this.sink.member(this.key, this.text(this.start, i));
            this.start = -1;
            this.state = 'key';
            this.phase = 'need';
          } else this.checkToken(b, i);
          break;
        }
        case 'elem':
          if (isSpace(b)) break;
          if (b === COMMA && this.phase === 'after') {
            this.phase = 'need';
            break;
          }
          if (b === RBRACKET && this.phase !== 'need') {
            this.state = this.topArray ? 'end' : 'key';
            this.phase = 'after';
            break;
          }
          if (this.phase === 'after') this.fail(`expected "," or "]", received ${describeByte(b)}`, i);
          if (VALUE_START[b] === 0) this.fail(`expected a JSON value, received ${describeByte(b)}`, i);
          this.start = i;
          this.depth = 0;
          this.state = 'after-elem';
          continue;
        case 'after-elem': {
          const j = this.skipInside(i, n);
          if (j !== i) {
            i = j;
            continue;
          }
          if (b === QUOTE) this.inString = true;
          else if (b === LBRACE || b === LBRACKET) this.depth++;
          else if (b === RBRACE || b === RBRACKET) {
            if (this.depth === 0) {
              this.sink.element(this.key, this.index++, this.text(this.start, i));
              this.start = -1;
              this.state = this.topArray ? 'end' : 'key';
              this.phase = 'after';
              break;
            }
            this.depth--;
            if (this.depth === 0 && b === RBRACE) {
              // an object element just closed; deliver it now
              this.sink.element(this.key, this.index++, this.text(this.start, i + 1));
              this.start = -1;
              this.state = 'elem';
              this.phase = 'after';
            }
          } else if (b === COMMA && this.depth === 0) {
            this.sink.element(this.key, this.index++, this.text(this.start, i));
            this.start = -1;
            this.state = 'elem';
            this.phase = 'need';
          } else this.checkToken(b, i);
          break;
        }
        case 'end':
          if (!isSpace(b)) this.fail('unexpected data after the top-level object', i);
          break;
      }
      i++;
    }
    this.pos = i;
  }
}
