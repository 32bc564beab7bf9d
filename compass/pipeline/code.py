"""The code a pipeline step runs, as a hash, so ``compass run`` reruns a stage whose code changed.

Why a hash of the step's modules rather than of the whole installed package: a package hash
would rerun every stage, hours on a real recipe, for a comment edited in the web portal. The
package version alone misses every edit made between releases, which is when a developer runs
the pipeline. So the hash covers the package version plus exactly the source a step can reach:

- the step function's own source and that of the same-module helpers it calls (not the whole
  module: ``pipeline/steps.py`` defines every stage, and one stage's edit must not rerun the rest);
- every other module of the package the function uses, and, transitively, every module those
  import — at module level or inside functions, found by reading the source (``ast``), not by
  importing it, so ``--plan`` stays fast and sees imports a run would only make later;
- the package ``__init__.py`` files on the way and the data files beside each reached module
  (e.g. a language-ID sample set).

Not followed: the package's ``recipes`` (values, not code: each step's resolved config sections
are fingerprinted apart). Following ``from compass.recipes import Recipe`` would make every stage
depend on every other stage's config module, so a new DPO setting would rerun pretraining.

Not covered: third-party libraries (a torch upgrade does not rerun anything: pass ``--force``)
and modules imported by a computed name.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

VALUES_PACKAGE = "recipes"  # a subpackage of settings, not code (see the module docstring)


def code_hash(fn: Callable) -> str:
    """Hash of the package version and all source ``fn`` can reach inside its own package."""
    fn = _unwrap(fn)
    package = sys.modules.get(fn.__module__.split(".")[0])
    h = hashlib.sha256(f"{package.__name__} {getattr(package, '__version__', '')}\n".encode())
    for text in sorted(_function_code(fn)[0]):
        h.update(text.encode())
    root = _package_root(package)
    for path in code_files(fn):
        h.update(f"{path.relative_to(root.parent)} {_file_digest(path)}\n".encode())
    return h.hexdigest()[:16]


def code_files(fn: Callable) -> list[Path]:
    """The files (modules and data beside them) whose content goes into ``code_hash(fn)``, besides
    the source of the function itself."""
    fn = _unwrap(fn)
    root = _package_root(sys.modules.get(fn.__module__.split(".")[0]))
    if root is None:
        return []
    return sorted(_data_files(_module_closure(_function_code(fn)[1], root)))


def _unwrap(fn: Callable) -> Callable:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _function_code(fn: Callable) -> tuple[set[str], set[str]]:
    """(sources of the function and its same-module helpers, other package modules they use)."""
    home = sys.modules[fn.__module__]
    top = fn.__module__.split(".")[0]
    package = home.__package__ or ""
    sources: set[str] = set()
    modules: set[str] = set()
    seen: set[int] = set()
    statements: dict[str, str] = {}

    def visit(obj) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        try:
            text = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            sources.add(getattr(obj, "__qualname__", ""))
            modules.add(home.__name__)  # no source to read: count the whole module
            return
        sources.add(text)
        modules.update(_imports(ast.parse(text), package, top))
        functions = [obj] if isinstance(obj, types.FunctionType) else []
        if isinstance(obj, type):
            functions = [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
        for f in functions:
            for name, value in _globals_used(f):
                refer(name, value)

    def refer(name: str, value) -> None:
        if isinstance(value, types.ModuleType):
            if value.__name__.split(".")[0] == top:
                modules.add(value.__name__)
            return
        module = getattr(value, "__module__", None)
        if isinstance(value, type | types.FunctionType) and module != home.__name__:
            if isinstance(module, str) and module.split(".")[0] == top:
                modules.add(module)
        elif isinstance(value, type | types.FunctionType):
            visit(value)
        elif name:
            # A module-level constant: the statement that binds it (an assignment, or an import
            # whose module then counts), or else the whole module.
            if not statements:
                statements.update(_top_level_statements(home))
            segment = statements.get(name)
            if segment is None:
                modules.add(home.__name__)
            else:
                sources.add(segment)
                modules.update(_imports(ast.parse(segment), package, top))

    visit(fn)
    return sources, modules


def _top_level_statements(module: types.ModuleType) -> dict[str, str]:
    """Module-level name -> source of the assignment or import statement that binds it."""
    try:
        text = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    out = {}
    for node in ast.parse(text).body:
        names: list[str] = []
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        for name in names:
            out[name] = ast.get_source_segment(text, node) or ""
    return out


def _globals_used(fn: types.FunctionType) -> list[tuple[str, object]]:
    """Module globals a function (or a lambda or comprehension inside it) names."""
    codes, names = [fn.__code__], set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    values = [(n, fn.__globals__[n]) for n in sorted(names) if n in fn.__globals__]
    # A closure's captured helpers (a step made by a factory) are code too; its captured
    # arguments are not (a step's configuration is fingerprinted apart from its code).
    cells = [c.cell_contents for c in fn.__closure__ or () if _filled(c)]
    values += [("", v) for v in cells if isinstance(v, types.FunctionType | type)]
    return values


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _imports(tree: ast.AST, package: str, top: str) -> set[str]:
    """Dotted names of the package's modules imported anywhere in ``tree`` (relative imports
    resolved against ``package``); ``from a import b`` yields both ``a`` and ``a.b``, since ``b``
    may be a submodule (names that are not files drop out later)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] == top}


def _package_root(package: types.ModuleType | None) -> Path | None:
    """The directory of a package (or the file of a plain top-level module)."""
    file = getattr(package, "__file__", None)
    if file is None:
        return None
    return Path(file).parent if hasattr(package, "__path__") else Path(file)


def _module_file(name: str, root: Path) -> Path | None:
    if root.is_file():
        return root if name == root.stem else None
    rel = Path(*name.split(".")[1:])
    for path in (root / rel / "__init__.py", (root / rel).with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _module_closure(start: set[str], root: Path) -> set[Path]:
    """Files of ``start``, their parent packages and everything they import, transitively."""
    files: set[Path] = set()
    todo = sorted(start)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        if parts[1:2] == [VALUES_PACKAGE]:
            continue
        for i in range(1, len(parts) + 1):
            path = _module_file(".".join(parts[:i]), root)
            if path is None or path in files:
                continue
            files.add(path)
            module = ".".join(parts[:i])
            package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
            todo.extend(_file_imports(path, package, parts[0]))
    return files


@functools.lru_cache(maxsize=1024)
def _parsed_imports(path: Path, stamp: tuple[int, int], package: str, top: str) -> frozenset[str]:
    return frozenset(_imports(ast.parse(path.read_bytes()), package, top))


def _file_imports(path: Path, package: str, top: str) -> frozenset[str]:
    stat = path.stat()
    return _parsed_imports(path, (stat.st_mtime_ns, stat.st_size), package, top)


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(path, (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=1024)
def _digest(path: Path, stamp: tuple[int, int]) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _data_files(files: set[Path]) -> set[Path]:
    """The modules plus the non-Python files in their directories (data a module reads)."""
    out = set(files)
    for directory in {f.parent for f in files}:
        out.update(
            p for p in directory.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")
        )
    return out
