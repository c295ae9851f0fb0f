"""The choices of an evaluation run: protocols, cut-offs and accuracy metrics.

Kept apart from the runner so that the ``evaluate`` command's parser is built
without importing what runs an evaluation (the ``models`` extra).
"""

from __future__ import annotations

#: The evaluation protocols (DESIGN.md section 5).
PROTOCOLS = ("seed-004", "leave-last-out", "prequential", "off-policy")
#: The cut-offs every holdout metric is computed at.
KS = (1, 5, 10, 20)
#: The cut-off of the headline tables.
MAIN_K = 10
#: The accuracy metrics, by name.
ACCURACY = ("precision", "recall", "ndcg", "hit_rate", "mrr")
#: What ``--tune`` may maximize.
OBJECTIVES = tuple(f"{metric}@{k}" for metric in ACCURACY for k in KS)
