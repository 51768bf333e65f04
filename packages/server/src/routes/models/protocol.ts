/** /v1/models on the wire. */
export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: "list";
  data: ModelCard[];
}
