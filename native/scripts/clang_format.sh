#!/usr/bin/env bash
# Formats the native sources with .clang-format (clang-format from the clang-format-node devDependency,
# so every machine uses the same version); --check only reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard 'native/*.cpp' 'native/*.h')
# Textual includes (.inc) are C++ too, but clang-format only knows that from the extension.
mapfile -t fragments < <(git ls-files --cached --others --exclude-standard 'native/*.inc')
# The binary itself, found once: through npx each call costs a Node start (over a second apiece).
clang_format=$(node -p 'require("clang-format-node").clangFormatPath')
status=0
if [ "${1:-}" = "--check" ]; then
  "$clang_format" --dry-run -Werror "${files[@]}" || status=1
  for f in "${fragments[@]}"; do
    "$clang_format" --assume-filename=x.cpp <"$f" | cmp -s - "$f" || { echo "$f: not clang-formatted"; status=1; }
  done
  exit $status
fi
"$clang_format" -i "${files[@]}"
for f in "${fragments[@]}"; do
  formatted=$("$clang_format" --assume-filename=x.cpp <"$f")
  printf '%s\n' "$formatted" >"$f"
done
