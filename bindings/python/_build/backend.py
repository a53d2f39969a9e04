"""A PEP 517 build backend for mx with no build requirements, so that pip can build offline.

A wheel is a zip of the package, a .dist-info folder (METADATA, WHEEL, RECORD) and nothing else;
writing one by hand is shorter than vendoring a build tool. Editable installs add a .pth file
pointing at this folder."""
import base64
import glob
import hashlib
import os
import sysconfig
import zipfile

NAME, VERSION = "mx", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bindings/python
METADATA = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: A deep-learning runtime with Apache MXNet 1.x's "
            "names, driven through a stable C ABI\nRequires-Python: >=3.9\nRequires-Dist: numpy\n" % (NAME, VERSION))


def _libraries():
    """libmx.so, its plugins and _mx_fastpath: from MX_LIBRARY_PATH, else this checkout's release build."""
    env = os.environ.get("MX_LIBRARY_PATH")
    root = os.path.dirname(os.path.dirname(HERE))
    for folder in ([env] if env else []) + [os.path.join(root, "build", "release", "lib")]:
        if os.path.isfile(os.path.join(folder, "libmx.so")):
            # the _mx_fastpath extension sits beside libmx.so, where mx._fastpath looks for it
            return sorted(glob.glob(os.path.join(folder, "libmx*.so")) +
                          glob.glob(os.path.join(folder, "_mx_fastpath*.so")))
    return []


def _tag(with_libs):
    return "py3-none-" + (sysconfig.get_platform().replace("-", "_").replace(".", "_") if with_libs else "any")


def _write_wheel(wheel_directory, files):
    """files: [(name in the wheel, bytes)]."""
    libs = any(name.endswith(".so") for name, _ in files)
    tag = _tag(libs)
    dist_info = "%s-%s.dist-info" % (NAME, VERSION)
    wheel_meta = "Wheel-Version: 1.0\nGenerator: mx-backend\nRoot-Is-Purelib: %s\nTag: %s\n" % (
        "false" if libs else "true", tag)
    files = files + [(dist_info + "/METADATA", METADATA.encode()), (dist_info + "/WHEEL", wheel_meta.encode())]
    record = []
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(dist_info + "/RECORD,,")
    files.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode()))
    filename = "%s-%s-%s.whl" % (NAME, VERSION, tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return filename


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    # The package's modules, subpackages (mx/rnn) included.
    sources = sorted(glob.glob(os.path.join(HERE, "mx", "**", "*.py"), recursive=True))
    files = [(os.path.relpath(p, HERE).replace(os.sep, "/"), _read(p)) for p in sources]
    files += [("mx/" + os.path.basename(p), _read(p)) for p in _libraries()]
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [("mx_editable.pth", (HERE + "\n").encode())])
