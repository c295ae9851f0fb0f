"""The ``streamrec evaluate`` sub-command: argument parser and handler.

The main CLI adds it with ``add_evaluate_parser(subparsers)``; the parser's default
``handler`` runs :func:`evaluate_command` with the parsed arguments.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from streamrec.config import load_settings
from streamrec.errors import InvalidInput
from streamrec.evaluation.algorithms import ALGORITHMS, AlgorithmSpec
from streamrec.evaluation.options import MAIN_K, OBJECTIVES, PROTOCOLS
from streamrec.experiments.offpolicy_run import evaluate_off_policy, offpolicy_table
from streamrec.extras import import_extra


def add_evaluate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``evaluate`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="evaluate algorithms offline (seed-004 holdout, leave-last-out, prequential)",
        description="Evaluate recommendation algorithms on a dataset and write a report.",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="dataset file or folder (MovieLens, Amazon reviews, event CSV)",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="seed-004")
    parser.add_argument(
        "--algorithms",
        default="popularity,cooccurrence",
        help=f"comma-separated NAME or NAME:LABEL, NAME from: {', '.join(ALGORITHMS)}",
    )
    parser.add_argument("--out", required=True, help="folder for report.md, results.json, PNGs")
    parser.add_argument(
        "--params",
        default="{}",
        help='JSON parameters per algorithm entry, e.g. \'{"ease": {"l2": 300}, '
        '"streamrec:pop": {"recommend": {"weight_popularity": 0.2}}}\'',
    )
    parser.add_argument(
        "--tune",
        default="{}",
        help="JSON search space per algorithm entry, chosen on a validation split of the "
        'training events before the test run, e.g. \'{"streamrec-hybrid": '
        '{"recommend.weight_popularity": [0, 0.03], "models.ease.l2": [300, 500]}}\'',
    )
    parser.add_argument(
        "--objective",
        default=f"ndcg@{MAIN_K}",
        choices=OBJECTIVES,
        help="validation metric that --tune maximizes",
    )
    parser.add_argument("--config", default=None, help="settings TOML file")
    parser.add_argument("--sample-size", type=int, default=2000, help="prequential queries")
    parser.add_argument("--retrain-every", type=int, default=None, help="prequential refit")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(handler=evaluate_command)
    return parser


def _per_entry(option: str, text: str) -> dict[str, Any]:
    """A JSON object keyed by algorithm entry, each value an object."""
    try:
        per_entry = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(per_entry, dict) or not all(isinstance(v, dict) for v in per_entry.values()):
        raise InvalidInput(f"{option} must be a JSON object of objects keyed by algorithm entry")
    return per_entry


def _search_problems(entry: str, space: dict[str, Any]) -> list[str]:
    """What is wrong with one entry's search space (every problem)."""
    if not space:
        return [f"--tune {entry}: the search space is empty"]
    return [
        f"--tune {entry}.{key}: give a non-empty list of values to try"
        for key, values in space.items()
        if not isinstance(values, list) or not values
    ]


def _specs(names: str, params: str, search: str = "{}") -> list[AlgorithmSpec]:
    """Entries ``NAME`` or ``NAME:LABEL`` (several configurations of one algorithm)."""
    per_entry = _per_entry("--params", params)
    spaces = _per_entry("--tune", search)
    entries = [n.strip() for n in names.split(",") if n.strip()]
    registry = {entry: entry.partition(":")[0] for entry in entries}
    unknown = sorted(e for e, name in registry.items() if name not in ALGORITHMS)
    unknown += sorted((set(per_entry) | set(spaces)) - set(entries))
    if unknown:
        raise InvalidInput(f"unknown or unselected algorithms: {', '.join(unknown)}")
    if len(set(entries)) < len(entries):
        raise InvalidInput("each algorithm entry may appear once; label copies NAME:LABEL")
    problems = [p for entry, space in spaces.items() for p in _search_problems(entry, space)]
    if problems:
        raise InvalidInput("; ".join(problems))
    return [
        AlgorithmSpec(
            registry[e], dict(per_entry.get(e, {})), e if ":" in e else None, spaces.get(e, {})
        )
        for e in entries
    ]


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run."""
    words = ["streamrec", "evaluate", "--dataset", str(args.dataset), "--protocol", args.protocol]
    words += ["--algorithms", args.algorithms, "--out", str(args.out)]
    if args.params != "{}":
        words += ["--params", args.params]
    if args.tune != "{}":
        words += ["--tune", args.tune, "--objective", args.objective]
    if args.config:
        words += ["--config", str(args.config)]
    if args.protocol == "prequential":
        words += ["--sample-size", str(args.sample_size)]
        if args.retrain_every is not None:
            words += ["--retrain-every", str(args.retrain_every)]
    return shlex.join(words)


def _off_policy(args: argparse.Namespace) -> int:
    """``--protocol off-policy``: ``--dataset`` is a data directory, ``--params`` the
    candidate's settings overlay."""
    settings = load_settings(args.config, data_dir=args.dataset)
    try:
        result = evaluate_off_policy(settings, json.loads(args.params), Path(args.out))
    except InvalidInput as exc:
        problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
        print(f"streamrec evaluate: {exc.message} ({problems})", file=sys.stderr)
        return 2
    print(offpolicy_table(result))
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe; print the table. Returns the exit code."""
    if args.protocol == "off-policy":
        return _off_policy(args)
    runner = import_extra("streamrec.evaluation.report", "models", "streamrec evaluate")
    try:
        report = runner.run_evaluation(
            args.dataset,
            args.protocol,
            _specs(args.algorithms, args.params, args.tune),
            args.out,
            progress=not args.no_progress,
            settings=load_settings(args.config),
            sample_size=args.sample_size,
            retrain_every=args.retrain_every,
            command=_command_line(args),
            objective=args.objective,
        )
    except InvalidInput as exc:
        print(f"streamrec evaluate: {exc.message}", file=sys.stderr)
        return 2
    table = runner.holdout_table(report.holdout, MAIN_K) or runner.prequential_table(
        report.prequential
    )
    print(table)
    print(f"report: {report.files[0]}")
    return 0
