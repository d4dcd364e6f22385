"""Python bundles: a module file, or a folder of module files, that define DAGs.

Loading a bundle puts its folder (a file's parent folder) first on ``sys.path`` and imports each
of its top-level ``*.py`` files (not those starting with ``_``: they are helpers the DAG modules
may import), collecting every DAG created while they import. The task process later imports only
the module named by its entry point, the same way.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from baton._dag import DAG, DagFunction, collecting
from baton._describe import EntryPoint, entry_point, parse_entry_point
from baton._errors import BundleError, DagDefinitionError
from baton._task import TaskRef


@dataclass(slots=True)
class Bundle:
    """The DAGs of a bundle, where it lives, and what looked wrong while loading it."""

    root: Path
    name: str
    dags: dict[str, DAG]
    warnings: list[str] = field(default_factory=list)

    def tasks(self) -> dict[str, TaskRef]:
        """Every task of the bundle, by entry point."""
        return index_tasks(self.dags.values())


def index_tasks(dags: Iterable[DAG]) -> dict[str, TaskRef]:
    """Every task of these DAGs, by entry point."""
    return {str(entry_point(ref)): ref for dag in dags for ref in dag.tasks.values()}


def bundle_name(path: Path) -> str:
    """A bundle's default name: its folder name, or its file name without ``.py``, as an id."""
    stem = path.stem if path.is_file() else path.name
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem).lstrip(".-") or "bundle"
    return cleaned[:250]


def _where(exc: BaseException, root: Path) -> str:
    """Where the bundle went wrong: a syntax error's line, else its last frame of the bundle's files."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f" (at {exc.filename}:{exc.lineno})"
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    # Not the SDK's or the import system's frame the error was raised in: the bundle's line that led there.
    last = ([frame for frame in frames if _inside(frame.filename, root)] or frames)[-1]
    return f" (at {last.filename}:{last.lineno})"


def _inside(location: str | None, root: Path) -> bool:
    return location is not None and Path(location).resolve().is_relative_to(root)


def _import(module: str, root: Path) -> object:
    """Import ``module`` from the bundle in ``root``; BundleError, with the cause, if it fails."""
    root_text = str(root)
    if root_text not in sys.path:
        sys.path.insert(0, root_text)
    loaded = sys.modules.get(module)
    if loaded is not None and _inside(getattr(loaded, "__file__", None), root):
        # Loaded before (a second load in this process): run it again, so that its DAGs are collected.
        del sys.modules[module]
    try:
        imported = importlib.import_module(module)
    except DagDefinitionError as exc:
        raise BundleError(f"bundle module {module!r}: {exc}{_where(exc, root)}") from exc
    except (Exception, SystemExit) as exc:  # a sys.exit() at import ended the worker silently
        raise BundleError(
            f"bundle module {module!r} failed to import: {type(exc).__name__}: {exc}{_where(exc, root)}"
        ) from exc
    location = getattr(imported, "__file__", None)
    if not _inside(location, root):
        raise BundleError(
            f"bundle module {module!r} is shadowed by an installed module of the same name "
            f"({location or 'built in'}): rename the file"
        )
    return imported


def _modules(path: Path) -> tuple[Path, list[str]]:
    if path.is_file():
        if path.suffix != ".py":
            raise BundleError(f"bundle {path} is neither a folder nor a .py file")
        return path.parent, [path.stem]
    if path.is_dir():
        names = sorted(p.stem for p in path.glob("*.py") if not p.name.startswith(("_", ".")))
        if not names:
            raise BundleError(f"bundle folder {path} holds no .py files")
        return path, names
    raise BundleError(f"bundle {path} does not exist")


def load_bundle(path: str | Path, *, name: str | None = None) -> Bundle:
    """Import a bundle (a .py file or a folder of them) and collect its DAGs; BundleError on problems."""
    resolved = Path(path).resolve()
    root, modules = _modules(resolved)
    bundle = Bundle(root=root, name=name or bundle_name(resolved), dags={})
    for module in modules:
        with collecting() as found:
            imported = _import(module, root)
        for dag in found:
            # The module whose import created the DAG is the one the task process imports.
            dag.module = module
            if dag.dag_id in bundle.dags:
                raise BundleError(f"DAG {dag.dag_id!r} is defined twice (again in module {module!r})")
            bundle.dags[dag.dag_id] = dag
        for attribute, value in sorted(vars(imported).items()):
            if isinstance(value, DagFunction) and value.calls == 0:
                bundle.warnings.append(
                    f"module {module!r}: @dag function {attribute!r} is never called, so it defines no DAG; "
                    f"add `{attribute}()` at module level"
                )
    if not bundle.dags:
        raise BundleError(f"bundle {resolved} defines no DAG" + "".join(f"; {w}" for w in bundle.warnings))
    return bundle


def load_task(entry: str | EntryPoint, root: str | Path) -> TaskRef:
    """Import the one module an entry point names, from the bundle in ``root``, and find its task."""
    point = entry if isinstance(entry, EntryPoint) else parse_entry_point(entry)
    with collecting() as found:
        _import(point.module, Path(root).resolve())
    for dag in found:
        if dag.dag_id == point.dag_id:
            if point.task_id not in dag.tasks:
                raise BundleError(
                    f"DAG {point.dag_id!r} in module {point.module!r} has no task {point.task_id!r} "
                    "(has the bundle changed since this DAG version was registered?)"
                )
            return dag.tasks[point.task_id]
    raise BundleError(f"module {point.module!r} defines no DAG {point.dag_id!r}")


__all__ = ["Bundle", "bundle_name", "index_tasks", "load_bundle", "load_task"]
