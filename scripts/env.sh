# Sourced by the scripts: one build cache outside the clone, and the npm tools on PATH.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/glimpse/target}"
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
