/**
 * Reading the JSON files of a checkpoint (config.json, tokenizer files, generation_config.json, …):
 * an optional file that may be absent, JSON parsed with the file named in the error, and a JSON
 * object required where one is expected. The error code says whose file failed.
 */
import { readFile } from "node:fs/promises";

import { WenxinError, fileReadError, type WenxinErrorCode } from "./errors.js";

/** The file's bytes, or undefined when it (or a folder on its path) does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if (["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw new WenxinError(
      "ERR_WENXIN_INVALID_FILE",
      `Cannot read ${file}: ${(err as Error).message}`,
      { subject: file },
      { cause: err },
    );
  }
}

/** `text` (the contents of `file`) parsed as JSON; a syntax error fails with `code`. */
export function parseJson(file: string, text: string, code: WenxinErrorCode = "ERR_WENXIN_INVALID_FILE"): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WenxinError(
      code,
      `${file} is not valid JSON: ${(err as Error).message}`,
      { subject: file },
      { cause: err },
    );
  }
}

/** `text` parsed as a JSON object; anything else fails with `code`. */
export function parseJsonObject(
  file: string,
  text: string,
  code: WenxinErrorCode = "ERR_WENXIN_INVALID_FILE",
): Record<string, unknown> {
  const value = parseJson(file, text, code);
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new WenxinError(code, `${file} must contain a JSON object`, { subject: file });
  return value as Record<string, unknown>;
}

/** A file that must exist, as text (FILE_NOT_FOUND when it does not, INVALID_FILE when it cannot be read). */
async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw fileReadError(file, err);
  }
}

/** A JSON file that must exist (FILE_NOT_FOUND when it does not, INVALID_FILE when it cannot be read or parsed). */
export async function readJsonFile(file: string): Promise<unknown> {
  return parseJson(file, await readText(file));
}

/** readJsonFile for a file that must hold a JSON object. */
export async function readJsonObjectFile(file: string): Promise<Record<string, unknown>> {
  return parseJsonObject(file, await readText(file));
}
