"""Offline evaluation: splits, metrics, prequential replay, tuning and reports.

- :mod:`~streamrec.evaluation.splits`: the seed-004 holdout and leave-last-out;
- :mod:`~streamrec.evaluation.prequential`: test-then-learn replay (streaming, frozen,
  periodic retrain);
- :mod:`~streamrec.evaluation.metrics`: top-K accuracy and beyond-accuracy metrics;
- :mod:`~streamrec.evaluation.algorithms`: the :class:`Algorithm` protocol and registry;
- :mod:`~streamrec.evaluation.report`: :func:`run_evaluation` and the Markdown report;
- :mod:`~streamrec.evaluation.tuning`: search on a validation split of training data.
"""
