import type { PretrainedOptions } from "../pretrained_options.js";
import { PreTrainedTokenizer } from "../../tokenization/tokenization_utils.js";

/** Loads the tokenizer (tokenizer.json or tokenizer.model, tokenizer_config.json, chat template). */
export class AutoTokenizer {
  static from_pretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PreTrainedTokenizer> {
    return PreTrainedTokenizer.from_pretrained(idOrPath, options);
  }
}
