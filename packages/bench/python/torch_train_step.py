"""PyTorch + peft side of the training benchmark (packages/bench/src/training.ts runs it in a fresh
process per configuration): one LoRA training step (forward, backward, AdamW) on a random-weight
checkpoint, timed over several steps. Prints one JSON line: {"tok_s": ..., "step_s": [...], "cpu_s": [...], "rss_mb": ...,
"capability": ...} (cpu_s: the process's CPU seconds, all threads, of each timed step; capability: the vectorised
code path ATen took, which ATEN_CPU_CAPABILITY caps).

    python torch_train_step.py '{"model": DIR, "dtype": "float32"|"bfloat16", "batch": 1, "seq": 512,
                                 "steps": 3, "threads": 2, "r": 16, "alpha": 32, "targets": ["q_proj", "v_proj"]}'
"""

import json
import resource
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def main() -> None:
    req = json.loads(sys.argv[1])
    torch.set_num_threads(req["threads"])
    torch.manual_seed(0)
    dtype = getattr(torch, req["dtype"])
    model = AutoModelForCausalLM.from_pretrained(req["model"], dtype=dtype, attn_implementation="sdpa")
    model = get_peft_model(
        model,
        LoraConfig(r=req["r"], lora_alpha=req["alpha"], target_modules=req["targets"], lora_dropout=0.0),
    )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, vocab, (req["batch"], req["seq"]), generator=gen)

    cpu: list[float] = []

    def step() -> float:
        start = time.perf_counter()
        cpu_start = time.process_time()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        cpu.append(time.process_time() - cpu_start)
        return time.perf_counter() - start

    step()  # warm-up: allocations, oneDNN primitive selection
    cpu.clear()
    times = [step() for _ in range(req["steps"])]
    cpu_s = list(cpu)
    times.sort()
    median = times[len(times) // 2]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "tok_s": req["batch"] * req["seq"] / median,
                "step_s": times,
                "cpu_s": cpu_s,
                "rss_mb": rss_mb,
                "capability": torch.backends.cpu.get_cpu_capability(),
            }
        )
    )


if __name__ == "__main__":
    main()
