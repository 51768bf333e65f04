#!/usr/bin/env bash
# Formats the native sources with .clang-format (clang-format from the clang-format-node devDependency,
# so every machine uses the same version); --check only reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard 'native/*.cpp' 'native/*.h')
# Textual includes (.inc) are C++ too, but clang-format only knows that from the extension.
mapfile -t fragments < <(git ls-files --cached --others --exclude-standard 'native/*.inc')
status=0
if [ "${1:-}" = "--check" ]; then
  npx --no-install clang-format --dry-run -Werror "${files[@]}" || status=1
  for f in "${fragments[@]}"; do
    npx --no-install clang-format --assume-filename=x.cpp <"$f" | cmp -s - "$f" || { echo "$f: not clang-formatted"; status=1; }
  done
  exit $status
fi
npx --no-install clang-format -i "${files[@]}"
for f in "${fragments[@]}"; do
  formatted=$(npx --no-install clang-format --assume-filename=x.cpp <"$f")
  printf '%s\n' "$formatted" >"$f"
done
