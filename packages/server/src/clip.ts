/**
 * Bounds text that came from a client before it goes into an error message or a log line: a model
 * name, a URL or a schema path may be megabytes long, and logs must not grow with what clients send.
 */

/** `text` when it has at most `max` characters, else its start and how much was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

/** Longest client-supplied value quoted inside a message. */
export const QUOTE_CHARS = 64;
/** Longest error message the server sends or logs. */
export const MESSAGE_CHARS = 1024;
/** Longest request target in a log line. */
export const URL_CHARS = 512;
