"""The package's public API is short, listed, and every listed name resolves."""

import subprocess
import sys

import trooper


def test_every_exported_name_resolves():
    for name in trooper.__all__:
        assert getattr(trooper, name) is not None, name


def test_exports_are_the_documented_few():
    assert set(trooper.__all__) == {
        "__version__", "load_ipython_extension", "unload_ipython_extension", "connect", "sessions", "turns",
        "attempts", "events", "sitreps", "chat", "ChatWidget", "plot_session", "configure", "Settings",
    }


def test_import_is_light():
    code = "import sys, trooper; print(sorted(m for m in ('pandas', 'ipywidgets', 'tornado') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
