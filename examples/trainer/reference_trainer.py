#!/usr/bin/env python3
"""Reference external trainer for ssr's LLM policy: one policy-gradient step with LoRA on the step's trajectories.

NEEDS a CUDA GPU, PyTorch, transformers and peft (pip install torch transformers peft). ssr's tests never run it;
they use minimal_trainer.py. Start from this file for a real campaign and adapt it to your model and hardware.

    python3 reference_trainer.py --batch BATCH.jsonl --out OUT_DIR --base-model /models/my-coder \
        [--adapter PREVIOUS_ADAPTER_DIR] [--lr 1e-5] [--max-len 32768]

Config in a campaign:
    policy:
      kind: llm
      trainer:
        command: "python3 examples/trainer/reference_trainer.py --batch {batch} --out {out} --base-model /models/my-coder"
      load:
        url: http://vllm-host:8000/v1/load_lora_adapter   # vLLM started with --enable-lora

What it does, as the method (SSR-SPEC) says: both roles' trajectories of the step train the one policy together.
Each trajectory's advantage is its reward minus the mean reward of its group (the N solver attempts at one bug; all
injections of the step for the injector), as in GRPO. The loss is -advantage * mean log-prob of the assistant tokens
(the model's own turns; tool results and prompts are context, never targets). One optimizer step, then the LoRA
adapter is saved to OUT_DIR and OUT_DIR is printed as the last stdout line: ssr hands it to the inference server.
"""
import argparse
import json
import os
import sys


def load_batch(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    groups = {}
    for t in rows:
        key = (t["role"], t["group"] if t["role"] == "solver" else "*")
        groups.setdefault(key, []).append(float(t["reward"]))
    for t in rows:
        g = groups[(t["role"], t["group"] if t["role"] == "solver" else "*")]
        t["advantage"] = float(t["reward"]) - sum(g) / len(g)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base-model", required=True)
    ap.add_argument("--adapter", default=None, help="the previous step's adapter to continue from")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--max-len", type=int, default=32768)
    a = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from peft import LoraConfig, PeftModel, get_peft_model

    if not torch.cuda.is_available():
        print("reference_trainer: no CUDA device; this trainer needs a GPU (tests use minimal_trainer.py)", file=sys.stderr)
        return 2
    tok = AutoTokenizer.from_pretrained(a.base_model)
    model = AutoModelForCausalLM.from_pretrained(a.base_model, torch_dtype=torch.bfloat16, device_map="cuda")
    if a.adapter:
        model = PeftModel.from_pretrained(model, a.adapter, is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
    model.gradient_checkpointing_enable()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=a.lr)

    rows = [t for t in load_batch(a.batch) if t["advantage"] != 0.0]
    opt.zero_grad()
    total = 0.0
    for t in rows:
        # Token ids of the whole conversation, with a mask over the assistant's own tokens only.
        ids, mask = [], []
        for m in t["messages"]:
            text = tok.apply_chat_template([m], tokenize=False, tools=t.get("tools"))
            piece = tok(text, add_special_tokens=False)["input_ids"]
            ids += piece
            mask += [1 if m.get("role") == "assistant" else 0] * len(piece)
        ids, mask = ids[: a.max_len], mask[: a.max_len]
        if sum(mask) == 0:
            continue
        x = torch.tensor([ids], device="cuda")
        logits = model(x).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, x[:, 1:, None])[..., 0]
        m = torch.tensor([mask[1:]], device="cuda", dtype=logp.dtype)
        loss = -t["advantage"] * (logp * m).sum() / m.sum() / max(1, len(rows))
        loss.backward()
        total += float(loss)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    os.makedirs(a.out, exist_ok=True)
    model.save_pretrained(a.out)
    json.dump({"trajectories": len(rows), "loss": total}, open(os.path.join(a.out, "ssr_step.json"), "w"))
    print(os.path.abspath(a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
