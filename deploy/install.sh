#!/bin/sh
# The one install path of aduan: the Dockerfile runs it, the README's deployment steps run it, and
# tests/test_ops_packaging.py runs it into a fresh virtual environment and starts the result.
#
#   sh deploy/install.sh PREFIX [SOURCE]
#
# PREFIX: the virtual environment to create or update (e.g. /opt/aduan).
# SOURCE: the aduan source tree (default: the folder this script is in, one level up).
# ADUAN_INSTALL_PLUGINS: plugins to install (default: every first-party plugin in SOURCE/plugins).
# ADUAN_INSTALL_EXTRAS: extras of the core (default: postgres,s3).
set -eu
PREFIX=${1:?usage: sh deploy/install.sh PREFIX [SOURCE]}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
EXTRAS=${ADUAN_INSTALL_EXTRAS:-postgres,s3}
PLUGINS=${ADUAN_INSTALL_PLUGINS:-$(ls "$SRC/plugins")}
PYTHON=${PYTHON:-python3}

"$PYTHON" -m venv "$PREFIX"
set -- "$SRC[$EXTRAS]"
for name in $PLUGINS; do
  set -- "$@" "$SRC/plugins/$name"
done
"$PREFIX/bin/pip" install --disable-pip-version-check "$@"
"$PREFIX/bin/aduan" --help > /dev/null
echo "aduan installed in $PREFIX (plugins: $(echo $PLUGINS))"
