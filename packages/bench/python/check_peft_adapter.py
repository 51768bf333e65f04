"""Loads an adapter that wenxin.js saved into Python peft and compares the logits with wenxin's.

    python check_peft_adapter.py BASE_DIR ADAPTER_DIR OURS.json

OURS.json: {"ids": [...], "logits": [...]} (engine.logits(ids, { adapter }) of the same adapter,
flattened). Prints the largest logit difference relative to the largest logit, and how far the adapter
moves the logits from the base model's (so a no-op adapter cannot pass unnoticed). Exits 1 above 1e-4.
"""

import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main() -> int:
    base_dir, adapter_dir, ours_path = sys.argv[1:4]
    ours = json.load(open(ours_path))
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), adapter_dir)
    model.eval()
    ids = torch.tensor([ours["ids"]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].flatten()
        with model.disable_adapter():
            base = model(input_ids=ids).logits[0].flatten()
    mine = torch.tensor(ours["logits"])
    largest = logits.abs().max()
    diff = ((logits - mine).abs().max() / largest).item()
    moved = ((logits - base).abs().max() / largest).item()
    print(json.dumps({"max_rel_diff": diff, "adapter_moves_logits": moved}))
    return 0 if diff < 1e-4 and moved > 100 * diff else 1


if __name__ == "__main__":
    sys.exit(main())
