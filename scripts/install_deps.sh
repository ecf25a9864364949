#!/usr/bin/env bash
# Installs the Debian 12 packages unet-engine builds and tests with. Idempotent; needs root
# (or sudo). The CUDA toolkit is not installed here: when /usr/local/cuda exists the build
# uses it, otherwise it builds the CPU backend only.
#   scripts/install_deps.sh          install the packages that are missing
#   scripts/install_deps.sh --list   print the package names, one per line, and install nothing
# After the Debian packages, it makes .venv-tests/ (the Debian Python plus PyPI's `tensorboard`,
# which Debian does not package): the TensorBoard test reads our event files with TensorBoard's
# own reader.
# The list below is the only one: the dependency check (tests/deps/) reads it through --list.
set -euo pipefail
packages=(
  build-essential cmake ninja-build        # toolchain
  libdnnl-dev                              # oneDNN: CPU conv / batch norm / pooling
  ocl-icd-opencl-dev                       # OpenCL: only Recommended by libdnnl-dev, yet its CMake config requires it
  libtiff-dev libstb-dev                   # TIFF in, PNG out
  libnifti2-dev                            # NIfTI-1/2 (.nii, .nii.gz) for the 3D BraTS system
  libdcmtk-dev                             # DICOM in (DCMTK): series, JPEG / JPEG-LS / RLE decoders
  doctest-dev libcli11-dev nlohmann-json3-dev
  libprotobuf-dev protobuf-compiler        # TensorBoard event files (the schema is compiled at build time)
  libboost-dev                             # Boost.CRC (header-only): CRC32C of TensorBoard's record framing
  libgif-dev                               # animated GIFs of predicted volumes
  libopenmpi-dev openmpi-bin               # data-parallel training across processes (mpirun); optional at build time
  pkgconf                                  # CMake's FindMPI asks pkg-config for the MPI flags
  python3-venv                             # the tests' venv for the one tool that Debian lacks (below)
  python3-torch python3-numpy              # golden values and the PyTorch side-by-side
  python3-tifffile python3-pil libtiff-tools  # TIFFs written by other tools, for tests
  python3-nibabel python3-scipy            # NIfTI written by nibabel; scipy's distance transform as the HD95 reference
  python3-pydicom dcmtk                    # DICOM series written by pydicom and compressed by dcmcjpeg, for tests
  chromium                                 # renders report.html in the report test
  gettext                                  # xgettext / msgfmt: the Chinese message catalogue, compiled at build time
  fonts-noto-cjk                           # a CJK font: the Chinese report's text and SVG charts in a browser, Chinese in the PNGs
  libfreetype-dev                          # FreeType: draws Chinese labels into the PNG charts and pictures with that font
)
case "${1:-}" in
  "") ;;
  --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  *) echo "install_deps.sh: unknown option '$1' (use no option to install, or --list to print the package names)" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# TensorBoard's reader for the tests: not in Debian, so from PyPI, into a venv beside the
# source (never into the system Python, which Debian 12 manages). Pinned: a reader that passed.
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-tests"
tensorboard_version=2.21.0
if ! "$venv/bin/python" -c "import tensorboard, sys; sys.exit(tensorboard.__version__ != '$tensorboard_version')" 2>/dev/null; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install --quiet "tensorboard==$tensorboard_version"
fi
