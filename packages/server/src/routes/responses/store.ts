/**
 * Responses kept in memory for `previous_response_id` and `GET /v1/responses/:id`: each with the
 * conversation it ended (instructions excluded: OpenAI does not carry them over). At most
 * `capacity` are kept, the least recently used dropped first; each conversation fits the model's
 * context, so the store's memory is bounded by capacity × context.
 */
import type { ChatMessage } from "@wenxin/engine";

import type { ResponseObject } from "./protocol.js";

export interface StoredResponse {
  response: ResponseObject;
  /** The turns a follow-up continues: history, this request's input, and the response's own turn. */
  conversation: ChatMessage[];
}

export class ResponseStore {
  private readonly entries = new Map<string, StoredResponse>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  put(entry: StoredResponse): void {
    if (this.capacity === 0) return;
    this.entries.delete(entry.response.id);
    this.entries.set(entry.response.id, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The stored response, now the most recently used; undefined when unknown or dropped. */
  get(id: string): StoredResponse | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    return entry;
  }

  delete(id: string): boolean {
    return this.entries.delete(id);
  }
}
