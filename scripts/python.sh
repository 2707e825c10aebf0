#!/usr/bin/env bash
# Prints a Python >= 3.12 interpreter (Django 6 needs it), or fails saying so.
set -euo pipefail
for candidate in python3.13 python3.12 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    command -v "$candidate"; exit 0
  fi
done
# pyenv keeps versions that are installed but not selected.
for candidate in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.1[2-9]*/bin/python3; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "Python 3.12 or newer is needed (Django 6): install it and retry." >&2
exit 1
