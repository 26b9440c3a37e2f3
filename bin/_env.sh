# Sourced by bin/run and bin/test: a virtualenv in .venv with the project installed.
# Re-installs only when pyproject.toml changed. Needs nothing but python3 (3.11+).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating the virtualenv $venv"
  if ! "$python" -m venv "$venv"; then
    echo "error: '$python -m venv' failed; on Debian/Ubuntu install it with: apt-get install python3-venv" >&2
    exit 1
  fi
fi
stamp="$venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras:+-$extras}"
if [ ! -f "$stamp" ]; then
  echo "==> installing billbee-sevdesk${extras:+ with [$extras]} into $venv"
  "$venv/bin/python" -m pip install --quiet --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet --quiet -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
export PATH="$PWD/$venv/bin:$PATH"
