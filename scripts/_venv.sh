# Shared by scripts/test.sh and scripts/studio.sh: one way to get the project's virtual environment.
# ensure_venv SPEC: create .venv with python3 if absent, then install SPEC (editable) when
# pyproject.toml changed since the last install, so repeated runs cost nothing.
ensure_venv() {
    local spec="$1"
    local stamp=".venv/.installed-$(echo "$spec" | tr -c 'a-z' '_')"
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
        .venv/bin/python -m pip install --quiet --upgrade pip
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install --quiet -e "$spec"
        touch "$stamp"
    fi
}
