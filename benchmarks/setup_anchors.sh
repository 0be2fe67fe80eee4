#!/usr/bin/env bash
# Create one virtualenv per anchor package under .bench-venv/<anchor>/ and install the anchor
# from PyPI by name, with the pins and workarounds it needs on current Python/numpy/torch.
# The anchors never go into the project's .venv. See benchmarks/README.md.
#
#   bash benchmarks/setup_anchors.sh                 # all: neurophox torchonn neuroptica
#                                                    #      wavetorch tmm_fast
#   bash benchmarks/setup_anchors.sh neuroptica      # just one
#   FORCE=1 bash benchmarks/setup_anchors.sh torchonn  # rebuild from scratch
#
# Sizes (Linux x86-64, Python 3.11): neurophox ~2.6 GB (TensorFlow 2.21 CPU + torch CPU),
# torchonn ~1.3 GB (torch CPU), neuroptica ~0.2 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENVS=.bench-venv
STUBS=$PWD/benchmarks/anchors/stubs
mkdir -p "$VENVS"
# CPU torch (a bare `torch` pulls a multi-GB CUDA build) and numpy 1.x for the old anchors.
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==2.13.0\nnumpy<2\n' >"$CONSTRAINTS"

make_venv() {  # make_venv NAME: create .bench-venv/NAME (FORCE=1: from scratch)
    local dir=$VENVS/$1
    if [[ -n ${FORCE:-} ]]; then rm -rf "$dir"; fi
    [[ -x $dir/bin/python ]] || "$PYTHON" -m venv "$dir"
}

pipi() {  # pipi NAME ARGS... : pip install into the anchor's venv, quietly, with the pins
    local name=$1
    shift
    "$VENVS/$name/bin/pip" install --quiet --disable-pip-version-check -c "$CONSTRAINTS" "$@"
}

setup_neurophox() {
    # neurophox 0.1.0a4 imports TensorFlow even for its torch layers (config.py), and uses
    # numpy aliases removed in numpy 1.24 (np.complex, np.bool, np.long, ...): the runner
    # restores them. tensorflow-cpu 2.21 (Keras 3) works with numpy 1.26; neurophox itself is
    # installed without its dependency list (it asks for any tensorflow>=2.0 and torch>=1.3).
    make_venv neurophox
    pipi neurophox torch==2.13.0 tensorflow-cpu==2.21.0 scipy "numpy<2"
    pipi neurophox --no-deps neurophox==0.1.0a4
}

setup_torchonn() {
    # torchonn 0.0.8's setup.py imports the package (for its version), which imports mmengine,
    # mmcv, and torchonn-pyutils (which imports torchvision). mmcv needs a compiler and CUDA
    # headers; the PyPI torchvision wheel fails against CPU torch 2.13 ("operator
    # torchvision::nms does not exist"). Neither is used by the MZI layer: the stand-ins in
    # benchmarks/anchors/stubs replace them at build and at run time.
    make_venv torchonn
    pipi torchonn torch==2.13.0 "numpy<2" scipy matplotlib tqdm pyyaml addict termcolor yapf \
        rich svglib scikit-learn
    pipi torchonn --no-deps mmengine==0.10.7 torchonn-pyutils==0.0.3.3 multimethod ryaml \
        scienceplots torchsummary
    PYTHONPATH=$STUBS pipi torchonn --no-deps --no-build-isolation torchonn==0.0.8
}

setup_neuroptica() {
    # neuroptica 0.1.0: numpy + numba, installs as is.
    make_venv neuroptica
    pipi neuroptica neuroptica==0.1.0 "numpy<2"
}

setup_wavetorch() {
    # wavetorch 0.2.1 (W2): its __init__ imports a `data` subpackage missing from the sdist
    # plus plotting/training deps; benchmarks/anchors/w2_wavetorch.py imports its modules
    # directly and lists the stand-ins it needs in the JSON.
    make_venv wavetorch
    pipi wavetorch torch==2.13.0 "numpy<2"
    pipi wavetorch --no-deps wavetorch==0.2.1
}

setup_tmm_fast() {
    # tmm-fast 0.3.0 (W3), beside Byrnes' tmm; installs as is on top of CPU torch.
    make_venv tmm-fast
    pipi tmm-fast torch==2.13.0
    pipi tmm-fast tmm-fast==0.3.0 tmm
}

ANCHORS=${*:-neurophox torchonn neuroptica wavetorch tmm_fast}
for a in $ANCHORS; do
    echo "== anchor $a"
    if ! "setup_$a"; then
        echo "!! $a failed to install; the benchmarks record it as not installed" >&2
        continue
    fi
    venv=$VENVS/${a//_/-}
    "$venv/bin/pip" list --disable-pip-version-check 2>/dev/null \
        | grep -i -E "^(${a//_/-}|torch|tensorflow|numpy|keras|numba) " || true
done
