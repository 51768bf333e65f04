/** /v1/models on the wire. */
export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** For a LoRA adapter: the base model it applies to (as vLLM lists LoRA modules). */
  parent?: string;
}

export interface ModelList {
  object: "list";
  data: ModelCard[];
}
