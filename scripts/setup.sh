#!/usr/bin/env bash
# One-time set-up used by `make run` and `make test`:
#   1. Debian's python3-meep (MIT Meep 1.25) when apt is available and we are root;
#   2. .venv from the *system* Python with --system-site-packages (so it sees meep);
#   3. the package with its test dependencies, under constraints.txt
#      (CPU build of torch==2.13.0, numpy<2 for Debian's meep).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's meep imports matplotlib at import time, which the bare system Python may lack: ask
# dpkg (or a Python that has it) rather than importing it with the system interpreter.
have_meep() { dpkg -s python3-meep >/dev/null 2>&1 || python3 -c 'import meep' >/dev/null 2>&1; }
have_venv() { /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || [ -x .venv/bin/python ]; }
if have_meep && have_venv; then
    echo "setup: MIT Meep found"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing Debian's python3-meep (MIT Meep) and python3-venv with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-meep python3-venv python3-pip >/dev/null
else
    echo "setup: MIT Meep not installed and apt-get/root not available."
    echo "       Install it with 'sudo apt-get install python3-meep' (Debian/Ubuntu) or"
    echo "       'conda install -c conda-forge pymeep'. Continuing without Meep: Meep tests skip."
fi

SYSPY=/usr/bin/python3
[ -x "$SYSPY" ] || SYSPY=$(command -v python3)
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv from $SYSPY (--system-site-packages)"
    "$SYSPY" -m venv --system-site-packages .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=23" 2>/dev/null || true
echo "setup: installing wavebp[test] (constraints.txt: torch CPU build, numpy<2)"
.venv/bin/python -m pip install -q -c constraints.txt --config-settings editable_mode=compat -e '.[test,sweeps]'
.venv/bin/python -c 'import torch, numpy; print(f"setup: torch {torch.__version__}, numpy {numpy.__version__}")'
