# Sourced by the scripts: one build cache outside the clone, and cargo's tools on PATH.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/glimpse/target}"
export PATH="$HOME/.cargo/bin:$PATH"
