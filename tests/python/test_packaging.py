"""`pip install ./bindings/python` works offline (no index) into a fresh virtual environment, and
the installed package runs from anywhere with no MX_LIBRARY_PATH: libmx and its plugins travel
in the wheel."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_pip_install_offline(tmp_path):
    try:
        import venv  # noqa: F401  (Debian: python3-venv)
        import ensurepip  # noqa: F401
    except ImportError:
        pytest.skip("python3-venv is not installed (scripts/setup.sh installs it)")
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True)
    py = str(env_dir / "bin" / "python")
    env = dict(os.environ)
    lib = env.pop("MX_LIBRARY_PATH", None)
    if lib:  # the build under test goes into the wheel
        env["MX_LIBRARY_PATH"] = os.path.abspath(lib)
    subprocess.run([py, "-m", "pip", "install", "--no-index", "--quiet", os.path.join(ROOT, "bindings", "python")],
                   check=True, env=env, cwd=str(tmp_path))
    env.pop("MX_LIBRARY_PATH", None)
    code = ("import mx, mx._fastpath, numpy as np; a = mx.nd.array([[1, 2], [3, 4]]); "
            "print(mx.__file__); print(float((a * a).sum().asscalar())); print(mx._fastpath.active)")
    out = subprocess.run([py, "-c", code], check=True, env=env, cwd=str(tmp_path), capture_output=True, text=True)
    location, value, fast = out.stdout.split()
    assert location.startswith(str(env_dir)) and float(value) == 30.0
    import mx._fastpath
    assert fast == str(mx._fastpath.active)  # the extension travels in the wheel where it was built
