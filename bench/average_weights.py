"""Average two recognizer (or detector) weight files: W = (1 - a) * A + a * B, every
tensor (batch-norm statistics too), A's metadata kept.

Why: interpolating a fine-tuned model with the model it started from (WiSE-FT, "robust
fine-tuning of zero-shot models") often keeps the start's strengths on the sets the
fine-tune drifted on while keeping most of its gains; both must share the architecture
and charset (a fine-tune with --init and no --extra-chars does).

    python bench/average_weights.py weights/recognizer.pt runs/b.pt 0.5 runs/avg.pt
"""

from __future__ import annotations

import argparse

import torch


def average(a: dict, b: dict, alpha: float) -> dict:
    """State dict (1 - alpha) * a + alpha * b; integer tensors (counters) taken from a."""
    if a.keys() != b.keys():
        raise SystemExit("the two files hold different layers: not the same architecture")
    out = {}
    for k, va in a.items():
        vb = b[k]
        if va.shape != vb.shape:
            raise SystemExit(f"{k}: shapes {tuple(va.shape)} and {tuple(vb.shape)} differ")
        out[k] = (1 - alpha) * va + alpha * vb if va.is_floating_point() else va
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("alpha", type=float, help="weight of B, 0..1")
    ap.add_argument("out")
    args = ap.parse_args()
    sa = torch.load(args.a, map_location="cpu", weights_only=False)
    sb = torch.load(args.b, map_location="cpu", weights_only=False)
    if sa["meta"].get("charset") != sb["meta"].get("charset"):
        raise SystemExit("the two files read different charsets")
    meta = {**sa["meta"], "averaged": {"a": args.a, "b": args.b, "alpha": args.alpha}}
    meta.pop("metrics", None)
    torch.save({"model": average(sa["model"], sb["model"], args.alpha), "meta": meta},
               args.out)
    print(f"wrote {args.out}: {1 - args.alpha:g} x {args.a} + {args.alpha:g} x {args.b}")


if __name__ == "__main__":
    main()
