"""InstaTune on a small BERT-style model: plain fine-tuning vs elastic fine-tuning.

Everything is made here, nothing is downloaded:

1. **Data.** A generated language of short reviews ("the plot was not very dull but the
   actor was superb"). The label is the sentiment of the clause after the last "but" (or of
   the only clause), flipped by "not": a bag of words cannot solve it, order matters.
2. **Pretraining.** A 4-layer BERT (hidden 64, 4 heads, feed-forward 256) is pretrained
   with masked language modelling (``transformers``' ``BertForMaskedLM``) on unlabelled
   sentences of that language, then saved with ``save_pretrained`` like any model a user has.
3. **Fine-tuning**, same epochs, steps and seed, through nas-search's ``transformer``
   evaluator: ``plain`` (the full model only: ``finetune.elastic: false``), ``elastic``
   (InstaTune, importance ordering on: the default) and ``elastic, no importance``.
   Printed: the full model's validation and test accuracy, the smallest sub-network's, the
   mean over 24 fixed random sub-networks, and milliseconds per optimizer step.
4. **Search**: LINAS on the elastic model (accuracy vs CPU latency, budget 40): the front.

    python benchmarks/instatune.py [--seeds 0 1 2] [--epochs 6] [--budget 40]

On a machine with CUDA, step times are measured there too. Writes what it prints to
benchmarks/results/instatune.txt (committed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = ["the movie", "the film", "the plot", "the actor", "the music", "the ending", "it"]
VERBS = ["was", "is", "seemed", "felt"]
ADVERBS = ["very", "really", "quite", "rather", "so"]
GOOD = ["good", "great", "superb", "lovely", "fine", "brilliant"]
BAD = ["bad", "awful", "dull", "boring", "poor", "weak"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def vocabulary() -> list[str]:
    words = {w for phrase in SUBJECTS for w in phrase.split()}
    words |= set(VERBS + ADVERBS + GOOD + BAD) | {"not", "but", "and"}
    return SPECIAL + sorted(words)


def clause(rng: np.random.Generator) -> tuple[str, int]:
    positive = bool(rng.integers(2))
    negated = rng.random() < 0.35
    words = [str(rng.choice(SUBJECTS)), str(rng.choice(VERBS))]
    if negated:
        words.append("not")
    if rng.random() < 0.5:
        words.append(str(rng.choice(ADVERBS)))
    words.append(str(rng.choice(GOOD if positive else BAD)))
    return " ".join(words), int(positive != negated)


def review(rng: np.random.Generator) -> tuple[str, int]:
    parts, label = [], 0
    for k in range(int(rng.integers(1, 4))):
        text, label_k = clause(rng)
        if k == 0:
            parts.append(text)
            label = label_k
        elif rng.random() < 0.5:
            parts += ["but", text]
            label = label_k
        else:
            parts += ["and", text]  # "and" keeps the first contrast's sentiment
    return " ".join(parts), label


def pretrain(folder: Path, sentences: list[str], seed: int, steps: int) -> float:
    """Masked language modelling from scratch; returns the last 50 steps' mean loss."""
    import torch
    import transformers
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocabulary()) + "\n")
    tokenizer = BertTokenizer(vocab=str(folder / "vocab.txt"))
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(vocabulary()),
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=64,
        num_labels=2,
    )
    model = transformers.BertForMaskedLM(config)
    encoded = tokenizer(
        sentences, padding="max_length", truncation=True, max_length=32, return_tensors="pt"
    )
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for step in range(steps):
        rows = torch.randint(0, len(ids), (64,), generator=generator)
        x, m = ids[rows].clone(), mask[rows]
        chosen = (torch.rand(x.shape, generator=generator) < 0.15) & (m == 1) & (x > 4)
        labels = torch.where(chosen, x, torch.full_like(x, -100))
        x[chosen] = tokenizer.mask_token_id
        loss = model(input_ids=x, attention_mask=m, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for group in optimizer.param_groups:
            group["lr"] = 2e-3 * (1 - (step + 1) / steps)
        losses.append(float(loss))
    model.save_pretrained(folder)  # the classifier is new: nas-search initialises it
    tokenizer.save_pretrained(folder)
    return float(np.mean(losses[-50:]))


SPACE = """\
name: instatune-{variant}
parameters:
  num_layers: {{type: integer, low: 1, high: 4}}
  num_heads: {{type: ordinal, choices: [1, 2, 3, 4], per_layer: num_layers}}
  intermediate_size: {{type: ordinal, choices: [64, 128, 192, 256], per_layer: num_layers}}
objectives:
  - {{name: accuracy, direction: maximize}}
  - {{name: latency_ms, direction: minimize}}
evaluator:
  type: transformer
  model: model
  data: {{source: reviews.jsonl, max_length: 32, seed: {seed}}}
  finetune: {{epochs: {epochs}, batch_size: 32, lr: 0.001, seed: {seed}, elastic: {elastic},
             importance: {importance}, random_subnets: 2, device: {device}}}
  latency: {{sequence_length: 32, batch_size: 8, threads: 1}}
search: {{budget: {budget}, batch: 10, seed: {seed}}}
"""
GENES = """\
  attention_precision: {type: categorical, choices: [fp32, int8], per_layer: num_layers}
  mlp_precision: {type: categorical, choices: [fp32, int8], per_layer: num_layers}
  head_precision: {type: categorical, choices: [fp32, int8]}
objectives:
"""


def quant_space(space: str) -> str:
    """The elastic model's space with precision genes, measured in onnxruntime, size as a
    third objective: for ``benchmarks/quantization.py --space``."""
    text = space.replace("objectives:\n", GENES, 1)
    text = text.replace(
        "  - {name: latency_ms, direction: minimize}\n",
        "  - {name: latency_ms, direction: minimize}\n  - {name: size_mb, direction: minimize}\n",
    )
    text = text.replace(
        "latency: {sequence_length", "latency: {runtime: onnxruntime, sequence_length"
    )
    return text.replace("name: instatune-elastic", "name: instatune-quant")


VARIANTS = {  # name: (elastic, importance)
    "plain": ("false", "false"),
    "elastic": ("true", "true"),
    "elastic-no-importance": ("true", "false"),
}


def subnets(count: int, seed: int = 1234) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        layers = int(rng.integers(1, 5))
        out.append(
            {
                "num_layers": layers,
                "num_heads": [int(h) for h in rng.integers(1, 5, layers)],
                "intermediate_size": [int(64 * m) for m in rng.integers(1, 5, layers)],
            }
        )
    return out


def measure(
    work: Path, variant: str, seed: int, epochs: int, budget: int, device: str
) -> dict[str, object]:
    from nas_search.catalog import load_space
    from nas_search.evaluation import build_evaluator
    from nas_search.supernet.finetune import accuracy

    elastic, importance = VARIANTS[variant]
    space = work / f"{variant}-{seed}-{device}.yaml"
    space.write_text(
        SPACE.format(
            variant=variant,
            seed=seed,
            epochs=epochs,
            elastic=elastic,
            importance=importance,
            budget=budget,
            device=device,
        )
    )
    evaluator = build_evaluator(load_space(str(space)))
    task = evaluator.data
    steps = epochs * int(np.ceil(len(task.train) / 32))
    start = time.perf_counter()
    report = evaluator.finetune(work / "cache" / f"{variant}-{seed}-{device}.pt")
    seconds = time.perf_counter() - start
    model = evaluator._model
    full, small = (
        evaluator.subnet({}),
        evaluator.subnet({"num_layers": 1, "num_heads": [1], "intermediate_size": [64]}),
    )
    sampled = [accuracy(model, evaluator.subnet(c), task.validation) for c in subnets(24)]
    return {
        "variant": variant,
        "seed": seed,
        "device": device,
        "full_val": accuracy(model, full, task.validation),
        "full_test": accuracy(model, full, task.test),
        "smallest_val": accuracy(model, small, task.validation),
        "random_val": float(np.mean(sampled)),
        "ms_per_step": 1000 * seconds / steps,
        "history": report["history"],
        "space": str(space),
    }


LINES: list[str] = []


def say(*parts: object) -> None:
    """Print, and keep the line for benchmarks/results/instatune.txt."""
    text = " ".join(str(p) for p in parts)
    LINES.append(text)
    print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--work", type=Path, default=ROOT / "results" / "instatune")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    os.environ["NAS_SEARCH_CACHE"] = str(work / "cache")
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    corpus = [review(rng)[0] for _ in range(6000)]  # unlabelled, for pretraining
    rows = [review(rng) for _ in range(args.reviews)]
    (work / "reviews.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows)
    )
    start = time.perf_counter()
    loss = pretrain(work / "model", corpus, 0, args.pretrain_steps)
    say(
        f"pretrained (masked LM, {args.pretrain_steps} steps): final loss {loss:.3f} in "
        f"{time.perf_counter() - start:.0f} s; {len(rows)} labelled reviews, "
        f"{np.mean([y for _, y in rows]):.2f} positive"
    )
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    records = []
    for device in devices:
        for seed in args.seeds if device == "cpu" else args.seeds[:1]:
            for variant in VARIANTS:
                record = measure(work, variant, seed, args.epochs, args.budget, device)
                records.append(record)
                say(
                    f"  {device} seed {seed} {variant:22s} full {record['full_val']:5.1f}% "
                    f"(test {record['full_test']:5.1f}%)  smallest {record['smallest_val']:5.1f}%"
                    f"  24 random {record['random_val']:5.1f}%  "
                    f"{record['ms_per_step']:.1f} ms/step"
                )
    say(f"\nMedians over seeds {args.seeds} (validation accuracy, %):")
    say(
        f"{'device':6s} {'fine-tuning':22s} {'full':>6s} {'full test':>9s} {'smallest':>8s} "
        f"{'random 24':>9s} {'ms/step':>8s}"
    )
    for device in devices:
        for variant in VARIANTS:
            rs = [r for r in records if r["variant"] == variant and r["device"] == device]
            med = {
                k: statistics.median(float(r[k]) for r in rs)  # type: ignore[arg-type]
                for k in ("full_val", "full_test", "smallest_val", "random_val", "ms_per_step")
            }
            say(
                f"{device:6s} {variant:22s} {med['full_val']:6.1f} {med['full_test']:9.1f} "
                f"{med['smallest_val']:8.1f} {med['random_val']:9.1f} {med['ms_per_step']:8.1f}"
            )
    from nas_search.api import run

    space = next(
        r["space"] for r in records if r["variant"] == "elastic" and r["seed"] == args.seeds[0]
    )
    out = work / f"run-{time.strftime('%Y%m%d-%H%M%S')}"
    result = run(space, out=out, budget=args.budget)
    front = result.front
    columns = ["accuracy", "latency_ms", "num_layers", "num_heads", "intermediate_size"]
    say(
        f"\nLINAS front of the elastic model (seed {args.seeds[0]}, budget {args.budget}, "
        "CPU latency, batch 8 x 32 tokens, 1 thread):"
    )
    say(front[columns].to_string(index=False))
    first = result.results.iloc[0]
    say(
        f"full model (measured first, as the baseline): {first['accuracy']:.1f}% at "
        f"{first['latency_ms']:.2f} ms"
    )
    (ROOT / "benchmarks" / "results" / "instatune.txt").write_text("\n".join(LINES) + "\n")
    quant = work / "instatune-quant.yaml"
    quant.write_text(quant_space(Path(space).read_text()))
    say(f"\n{quant}: the same model with precision genes (benchmarks/quantization.py --space)")


if __name__ == "__main__":
    sys.exit(main())
