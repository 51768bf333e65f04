/**
 * A training set from a JSONL file: one row per line (`{messages}`, `{prompt, completion}` or
 * `{text}`, see examples.ts), read as a stream, encoded as it is read. A line that is not JSON, has
 * none of the row shapes or cannot be encoded stops the load with an error naming the file and line.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

import { WenxinError, fileReadError } from "../errors.js";
import { trainingRowSchema, type EncodedExample, type TrainingRow } from "./examples.js";

export interface DatasetStats {
  /** Non-empty lines read. */
  rows: number;
  /** Examples kept. */
  examples: number;
  /** Examples cut to maxLength (their first tokens kept). */
  truncated: number;
  /** Rows dropped: nothing left to learn within maxLength. */
  dropped: number;
  tokens: number;
}

export interface Dataset {
  file: string;
  examples: { inputIds: number[]; labels: number[] }[];
  stats: DatasetStats;
}

function lineError(file: string, line: number, why: string, cause?: unknown): WenxinError {
  return new WenxinError(
    "ERR_WENXIN_INVALID_FILE",
    `${file}:${line}: ${why}`,
    { subject: `${file}:${line}` },
    { cause },
  );
}

function describeIssue(value: unknown): string {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "a row must be a JSON object";
  const parsed = trainingRowSchema.safeParse(value);
  if (parsed.success) return "";
  const keys = Object.keys(value);
  if (!keys.some((k) => ["messages", "prompt", "completion", "text"].includes(k)))
    return `expected {"messages": [...]}, {"prompt": ..., "completion": ...} or {"text": ...}; got keys ${JSON.stringify(keys)}`;
  // The union's issues are per branch: report the branch the row's keys point at.
  const branch = "messages" in value ? 0 : "prompt" in value || "completion" in value ? 1 : 2;
  const issues =
    parsed.error.issues[0]?.code === "invalid_union" ? parsed.error.issues[0].errors[branch] : parsed.error.issues;
  const issue = issues?.[0] ?? parsed.error.issues[0]!;
  return `'${issue.path.join(".")}' ${issue.message}`;
}

/** Reads and encodes every row of `file`; `encode` returns undefined for a row with nothing to learn. */
export async function loadJsonlDataset(
  file: string,
  encode: (row: TrainingRow) => EncodedExample | undefined,
): Promise<Dataset> {
  const stats: DatasetStats = { rows: 0, examples: 0, truncated: 0, dropped: 0, tokens: 0 };
  const examples: Dataset["examples"] = [];
  const stream = createReadStream(file, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (err) => reject(err));
  });
  try {
    await opened;
  } catch (err) {
    throw fileReadError(file, err);
  }
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === "") continue;
    stats.rows++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw lineError(file, line, `not valid JSON (${(err as Error).message})`, err);
    }
    const issue = describeIssue(value);
    if (issue) throw lineError(file, line, issue);
    let encoded: EncodedExample | undefined;
    try {
      encoded = encode(value as TrainingRow);
    } catch (err) {
      throw lineError(file, line, (err as Error).message, err);
    }
    if (!encoded) {
      stats.dropped++;
      continue;
    }
    if (encoded.truncated > 0) stats.truncated++;
    stats.examples++;
    stats.tokens += encoded.inputIds.length;
    examples.push({ inputIds: encoded.inputIds, labels: encoded.labels });
  }
  if (stats.examples === 0)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_FILE",
      `${file} has no example to learn from (${stats.rows} rows, ${stats.dropped} with nothing left within the maximum length)`,
      { subject: file },
    );
  return { file, examples, stats };
}
