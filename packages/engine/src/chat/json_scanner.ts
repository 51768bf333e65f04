/**
 * Finds where a streamed JSON value ends without parsing it: tracks strings, escapes and bracket
 * depth. Used to end a forced tool call or a structured reply as soon as its JSON is complete,
 * instead of waiting for the model to close the markup around it.
 */
export class JsonValueScanner {
  private depth = 0;
  private started = false;
  private inString = false;
  private escaped = false;
  private _complete = false;
  private _invalid = false;

  /** True once a whole object, array or string has been read. */
  get complete(): boolean {
    return this._complete;
  }

  /** True when the text does not start like an object, array or string (after whitespace). */
  get invalid(): boolean {
    return this._invalid;
  }

  /**
   * Reads more text; returns the index in `text` just after the value's last character when the
   * value completes inside it, else -1. Text after the end of the value is not looked at.
   */
  push(text: string): number {
    if (this._complete || this._invalid) return -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (!this.started) {
        if (c === " " || c === "\n" || c === "\r" || c === "\t") continue;
        if (c !== "{" && c !== "[" && c !== '"') {
          this._invalid = true;
          return -1;
        }
        this.started = true;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.depth === 0) return this.end(i);
        }
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) return this.end(i);
      }
    }
    return -1;
  }

  private end(i: number): number {
    this._complete = true;
    return i + 1;
  }
}
