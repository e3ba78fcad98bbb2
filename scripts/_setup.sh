# Sourced by scripts/run and scripts/test: what both need on a fresh Debian machine.
# Debian's own python3 refuses `pip install` outside a virtual environment (PEP 668), so
# yardcam always lives in .venv, made with the system's python3.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE...: install the Debian packages given (only call it with missing ones).
apt_install() {
    echo "==> installing Debian packages: $*"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# venv_install SPEC: .venv with SPEC (".", ".[test]") installed editable.
venv_install() {
    if [ ! -x .venv/bin/python ]; then
        # Without Debian's python3-venv, `python3 -m venv` cannot bootstrap pip.
        python3 -c "import ensurepip" >/dev/null 2>&1 || apt_install python3-venv
        echo "==> creating .venv"
        python3 -m venv .venv
    fi
    echo "==> installing yardcam$([ "$1" = . ] || echo "${1#.}") into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$1"
}
