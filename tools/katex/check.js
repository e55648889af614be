// Render LaTeX strings with KaTeX: reads a JSON array of strings on stdin, writes a JSON
// array with null (rendered) or the error message for each. Used by tests/report.
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((tex) => {
    try {
      // strict: "error" refuses what KaTeX would only warn about (non-standard input).
      katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
      return null;
    } catch (err) {
      return String(err.message || err);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
