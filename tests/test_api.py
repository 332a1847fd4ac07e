"""The curated public API: every advertised name resolves, lazily, and the quick start runs."""

import subprocess
import sys

import numpy as np
import pytest

import brainconv


@pytest.mark.parametrize("name", [n for n in brainconv.__all__ if n != "__version__"])
def test_every_public_name_resolves_to_its_module(name):
    value = getattr(brainconv, name)
    module = brainconv._API[name]
    assert getattr(value, "__module__", "").startswith(("brainconv", "equations")), (name, module)
    assert name in dir(brainconv)


def test_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'convertt'"):
        brainconv.convertt


def test_import_brainconv_does_not_import_brian2():
    code = ("import sys, brainconv; assert 'brian2' not in sys.modules; "
            "brainconv.NetworkSpec; assert 'brian2' not in sys.modules; print('lazy')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(brainconv.__path__[0] + "/.."))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "lazy"


def test_quick_start_through_the_public_api():
    bc = brainconv
    x_train, y_train = bc.load_dataset("digits", "train")
    x_test, y_test = bc.load_dataset("digits", "test")
    ann = bc.train_ann(x_train, y_train, hidden=(32,), epochs=3, seed=0)
    spec = bc.convert(ann, model="if_soft", data=x_train)
    ds = bc.simulate(spec, x_test[:50], y_test[:50], steps=40, device="numpy")
    curve = bc.accuracy_over_time(ds)
    # A rate code approaches the ANN: the last step is at least as good as the first.
    assert float(curve[-1]) >= float(curve[0])
    assert float(curve[-1]) > 0.5
    assert np.isclose(float(bc.summary(ds)["accuracy"]), float(curve[-1]))


def _modules():
    import pkgutil

    names = ["brainconv", "brainconv.equations"]
    for package in (brainconv, __import__("brainconv.devices").devices,
                    __import__("brainconv.spiketime").spiketime,
                    __import__("brainconv.equations").equations):
        names += [f"{package.__name__}.{info.name}"
                  for info in pkgutil.iter_modules(package.__path__)]
    return sorted(set(names))


@pytest.mark.parametrize("name", _modules())
def test_every_module_says_what_it_offers(name):
    """Every module has __all__, and each name in it exists: the public surface is explicit."""
    import importlib

    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), name
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_package_imports_form_no_cycle():
    """Modules import each other in one direction only (lazy imports inside functions count):
    the layout's floors stay readable from the bottom up."""
    import ast
    from pathlib import Path

    root = Path(brainconv.__file__).parent
    files = {path: ".".join(("brainconv",) + path.relative_to(root).with_suffix("").parts)
             for path in root.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): path for path, name in files.items()}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                for alias in node.names:  # "from . import x" may name a submodule
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in modules else target)
        graph[name] = {t for t in edges if t in modules and t != name
                       and not name.startswith(t + ".")}  # a package's own __init__ is its base
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " -> ".join(trail + [node])
        state[node] = "open"
        for target in sorted(graph[node]):
            visit(target, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        visit(name, [])
