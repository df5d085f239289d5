"""The shape of the package: floors that import one way, no cycles, modules a reader can hold.

Every import counts, including those inside functions (lazy imports), since a cycle through
a lazy import is still a cycle for whoever reads or changes the code.
"""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sentiment"
MAX_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_MODULES = 15  # in one folder
OUTER = ("cli", "lab", "serve")  # the floors around the core, which never imports them
#: the rooms of the core, each importing only rooms of a lower rank (and itself): the
#: errors and the allocator at the bottom, the scikit-learn estimators and plots at the top
RANKS = {"errors": 0, "memory": 0, "native": 1, "io": 1, "features": 2, "nn": 2, "model": 3,
         "training": 4, "cluster": 5, "plots": 6, "estimator": 6}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a compiled module:
    the C file that defines it; it imports no module of the package)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    for path in PACKAGE.rglob("*.c"):
        for init in re.findall(r"PyMODINIT_FUNC\s+PyInit_(\w+)", path.read_text()):
            found[".".join(path.relative_to(PACKAGE.parent).parent.parts + (init,))] = path
    return found


def sources() -> list[Path]:
    """Every source file a reader may open: Python modules, C sources and headers."""
    return sorted(p for ext in ("*.py", "*.c", "*.h") for p in PACKAGE.rglob(ext))


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # "from . import x" imports the submodule x when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # a name inside a module: the module itself
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) if path.suffix == ".py" else set()
            for name, path in mods.items()}


def floor(name: str) -> str:
    """core, cli, lab or serve (the core: the package and its rooms, ``sentiment.training``
    ...); ``python -m sentiment`` (``__main__``) is the command line's door."""
    if name == "sentiment.__main__":
        return "cli"
    parts = name.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in OUTER else "core"


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(n):
        state[n] = 1
        path.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_graph_sees_lazy_and_relative_imports():
    g = graph()
    assert "sentiment.lab.stages" in g["sentiment.cli.lab"]  # inside a function
    assert "sentiment.model.fileformat" in g["sentiment.model.model"]  # "from . import x"
    assert "sentiment.cli.train" not in g["sentiment.cli"]  # by name only (import_module)
    assert "sentiment.native._fast" in g["sentiment.native.loops"]  # compiled


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    assert find_cycle(graph()) is None


def test_floors_are_told_apart():
    assert floor("sentiment.training.loop") == floor("sentiment.errors") == "core"
    assert floor("sentiment.cli.train") == "cli" and floor("sentiment.serve.app") == "serve"


def test_floors_import_one_way():
    wrong = [f"{a} imports {b}" for a, targets in graph().items() for b in targets
             if (floor(a) == "core" and floor(b) in OUTER)
             or (floor(a) == "lab" and floor(b) == "cli")
             or (floor(a) == "serve" and floor(b) in ("cli", "lab"))]
    assert wrong == []


def room(name: str) -> str | None:
    """The room of a core module (``sentiment.training.loop``: training; a top-level module
    is a room of its own), None for the package's door (``sentiment``) and the floors."""
    parts = name.split(".")
    if len(parts) < 2 or floor(name) != "core":
        return None
    return parts[1]


def test_every_room_of_the_core_has_a_rank():
    rooms = {room(n) for n in graph()} - {None}
    assert rooms == set(RANKS)


def test_rooms_import_only_lower_rooms():
    wrong = [f"{a} imports {b}" for a, targets in graph().items() for b in targets
             if room(a) is not None and room(b) is not None and room(a) != room(b)
             and RANKS[room(b)] >= RANKS[room(a)]]
    assert wrong == []


def test_the_rank_check_catches_an_upward_import():
    assert RANKS[room("sentiment.training.loop")] > RANKS[room("sentiment.model.model")]
    assert room("sentiment.cli.train") is None and room("sentiment") is None


def private_imports(name: str, path: Path, known: set[str]) -> list[str]:
    """``module.name`` of each private name (``_x``) ``name`` imports from another module of
    the package (a private module itself, like the compiled ``_fast``, is not a name)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        if base.split(".")[0] != "sentiment":
            continue
        found += [f"{base}.{a.name}" for a in node.names if a.name.startswith("_")
                  and not a.name.startswith("__") and f"{base}.{a.name}" not in known]
    return found


def test_no_private_name_is_imported_from_another_module():
    mods = modules()
    found = {name: private for name, path in mods.items() if path.suffix == ".py"
             and (private := private_imports(name, path, set(mods)))}
    assert found == {}


def test_the_private_import_check_sees_one(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from .loop import _hidden, drive\nfrom . import _fast\n")
    known = {"sentiment.training.loop", "sentiment.training._fast"}
    assert private_imports("sentiment.training.m", path, known) == \
        ["sentiment.training.loop._hidden"]


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Functions and methods of ``path`` over ``limit`` lines (decorators not counted)."""
    return {f"{path.name}:{node.name}": n
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (n := node.end_lineno - node.lineno + 1) > limit}


def test_no_function_is_too_long():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        found.update(long_functions(path))
    assert found == {}


def test_the_function_length_check_counts_lines(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 80)
    assert long_functions(path) == {"f.py:long": 81}


def test_no_folder_holds_too_many_modules():
    """Python modules and C sources, beside each folder's ``__init__``."""
    crowded = {}
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        n = sum(1 for p in folder.iterdir() if p.suffix in (".py", ".c")
                and p.name != "__init__.py")
        if n > MAX_MODULES:
            crowded[str(folder.relative_to(PACKAGE.parent))] = n
    assert crowded == {}


def test_no_module_is_too_long():
    long = {path.name: n for path in sources()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_test_imports_conftest():
    """Shared data lives in a module of its own (corpus.py); conftest only has fixtures."""
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in tests.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            if "conftest" in names:
                offenders.append(path.name)
    assert offenders == []


def external_imports(path: Path) -> set[str]:
    """Top-level names of the packages a module imports from outside (anywhere in it)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_only_the_cluster_engine_imports_dask():
    """Dask is an optional extra: one module of the core talks to it, and only the command
    line (asked for --workers or --cluster) and the cluster modules import that module."""
    mods = modules()
    users = {name for name, path in mods.items()
             if path.suffix == ".py" and external_imports(path) & {"dask", "distributed"}}
    assert users == {"sentiment.cluster.engine"}
    importers = {a for a, targets in graph().items() if "sentiment.cluster.engine" in targets}
    assert importers <= {"sentiment.cluster.mixing", "sentiment.cluster.rounds",
                         "sentiment.cluster.spread", "sentiment.cli.common"}
    mixing = {a for a, targets in graph().items() if "sentiment.cluster.mixing" in targets}
    assert mixing <= {"sentiment.cli.train"}
    # the rounds and the workers' reading: the cluster's training, and the command line
    # choosing that route (--read workers)
    rooms = {a for a, targets in graph().items()
             if targets & {"sentiment.cluster.rounds", "sentiment.cluster.spread"}}
    assert rooms <= {"sentiment.cluster.mixing", "sentiment.cli.workers"}
