"""``python -m baton_codegen``: regenerate the committed clients, check them for drift, or build any version.

python -m baton_codegen write                 # clients/ from the latest version
python -m baton_codegen check                 # fail when clients/ differs from a fresh generation
python -m baton_codegen generate --version 2026-09-01 --out build/clients/2026-09-01
python -m baton_codegen normalize --version 2026-09-01 --generator go   # the generator's input
python -m baton_codegen gates                 # lint spec/ and judge its breaking changes (docs/spec-gates.md)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from baton_codegen import _gates, _normalize, _pipeline, _verify
from baton_codegen._generators import LANGUAGES, ROOT, GeneratorError


def _languages(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(names) - set(LANGUAGES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown language(s): {', '.join(unknown)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m baton_codegen``."""
    parser = argparse.ArgumentParser(
        prog="python -m baton_codegen", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lang_help = f"comma-separated subset of {','.join(LANGUAGES)} (default: all)"
    for name, help_text in (
        ("write", "regenerate the committed clients under clients/ from the latest version"),
        ("check", "regenerate into a scratch folder and fail on any drift from clients/"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--lang", type=_languages, default=list(LANGUAGES), help=lang_help)
    generate = sub.add_parser("generate", help="generate complete clients of one version into a folder")
    generate.add_argument("--version", required=True, help="API version, e.g. 2026-09-01")
    generate.add_argument("--out", required=True, type=Path, help="folder to write <lang>/ into")
    generate.add_argument("--lang", type=_languages, default=list(LANGUAGES), help=lang_help)
    verify = sub.add_parser(
        "verify", help="generate every version's clients and check each hand-written layer builds over them"
    )
    verify.add_argument("--out", type=Path, default=ROOT / "build" / "clients", help="build folder")
    verify.add_argument("--lang", type=_languages, default=list(LANGUAGES), help=lang_help)
    sub.add_parser("gates", help="lint every spec/ document; every breaking change must be a declared one")
    normalize = sub.add_parser("normalize", help="print the document one generator reads")
    normalize.add_argument("--version", required=True)
    normalize.add_argument("--generator", required=True, choices=sorted(_normalize.NORMALIZERS))
    return parser


def _pick(documents: dict[str, dict[str, object]], version: str) -> dict[str, object]:
    if version not in documents:
        raise GeneratorError(f"no API version {version}; the server has: {', '.join(sorted(documents))}")
    return documents[version]


def run(args: argparse.Namespace) -> int:
    """Carry out one parsed command; returns the exit code."""
    started = time.monotonic()
    if args.command == "gates":
        return _report_gates(started)
    documents = _pipeline.load_documents()
    if args.command == "normalize":
        document = _normalize.NORMALIZERS[args.generator](_pick(documents, args.version))
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if args.command == "verify":
        return _verify_all(documents, args.out, args.lang, started)
    version = args.version if args.command == "generate" else _pipeline.latest_version(documents)
    files = _pipeline.generate(version, _pick(documents, version), args.lang)
    if args.command == "generate":
        _pipeline.build_folder(files, args.out, args.lang)
        where = str(args.out)
    elif args.command == "write":
        _pipeline.write(files, _pipeline.CLIENTS_DIR, args.lang)
        where = "clients/"
    else:
        problems = _pipeline.drift(files, _pipeline.CLIENTS_DIR, args.lang)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("codegen: the committed clients are stale; run `nox -s codegen`", file=sys.stderr)
            return 1
        where = "clients/ is up to date"
    elapsed = time.monotonic() - started
    print(f"codegen: {version} ({', '.join(args.lang)}) → {where} in {elapsed:.1f}s, {len(files)} files")
    return 0


def _verify_all(
    documents: dict[str, dict[str, object]], out: Path, languages: list[str], started: float
) -> int:
    problems: list[str] = []
    for version in sorted(documents):
        folder = out / version
        _pipeline.build_folder(_pipeline.generate(version, documents[version], languages), folder, languages)
        found = _verify.build_problems(folder, version, languages)
        print(f"codegen: {version} ({', '.join(languages)}) {'FAILS' if found else 'builds'} in {folder}")
        problems += found
    for problem in problems:
        print(problem, file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"codegen: {len(documents)} versions checked in {elapsed:.1f}s")
    return 1 if problems else 0


def _report_gates(started: float) -> int:
    report = _gates.run_gates()
    for version, problems in report.lint.items():
        print(f"lint: {version}: {len(problems)} problems")
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    for finding in report.undeclared:
        print(f"breaking: undeclared: {finding}", file=sys.stderr)
    for entry in report.unmatched:
        print(f"breaking: stale allow-list entry: {entry}", file=sys.stderr)
    print(
        f"breaking: {report.declared} findings, each a declared version change; {len(report.undeclared)} "
        f"undeclared; {len(report.unmatched)} stale entries ({time.monotonic() - started:.1f}s)"
    )
    return 0 if report.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m baton_codegen``."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except GeneratorError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 1
