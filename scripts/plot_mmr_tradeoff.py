"""The MMR λ trade-off curve of a ``streamrec evaluate`` run: NDCG@10 against
intra-list diversity (``diversity@10``) for every algorithm entry labelled
``NAME:mmr<λ>``, with the plain entry (λ = 1) and any others as reference points::

    PYTHONPATH=. python scripts/plot_mmr_tradeoff.py RUN/results.json mmr-tradeoff.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend


def main() -> int:
    results, out = Path(sys.argv[1]), Path(sys.argv[2])
    runs = json.loads(results.read_text())["holdout"]
    curve: list[tuple[float, float, float]] = []
    others: list[tuple[str, float, float]] = []
    for run in runs:
        name, metrics = run["algorithm"], run["metrics"]
        point = (metrics["diversity@10"], metrics["ndcg@10"])
        label = name.split(":", 1)[1] if ":" in name else ""
        if label.startswith("mmr"):
            curve.append((float(label[3:]), *point))
        else:
            others.append((name, *point))
            if not label:
                curve.append((1.0, *point))
    curve.sort()
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot([c[1] for c in curve], [c[2] for c in curve], marker="o", label="MMR")
    for lam, diversity, ndcg in curve:
        axes.annotate(f"λ={lam:g}", (diversity, ndcg), textcoords="offset points", xytext=(4, 4))
    for name, diversity, ndcg in others:
        if ":" in name:
            axes.scatter([diversity], [ndcg], marker="s", label=name)
    axes.set_xlabel("intra-list diversity@10 (Jaccard over genres)")
    axes.set_ylabel("NDCG@10")
    axes.set_title(f"MMR trade-off, {json.loads(results.read_text())['dataset']}, seed-004")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=120)
    for lam, diversity, ndcg in curve:
        print(f"lambda {lam:g}: ndcg@10 {ndcg:.4f} diversity@10 {diversity:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
