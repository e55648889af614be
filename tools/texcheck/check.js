// Render LaTeX strings with KaTeX and with MathJax 3 (TeX input, base + ams packages, as
// Jupyter loads them). Reads a JSON array of strings on stdin and writes a JSON array with,
// for each string, {"katex": null or the error, "mathjax": null or the error}.
"use strict";
const katex = require("katex");
const {mathjax} = require("mathjax-full/js/mathjax.js");
const {TeX} = require("mathjax-full/js/input/tex.js");
const {liteAdaptor} = require("mathjax-full/js/adaptors/liteAdaptor.js");
const {RegisterHTMLHandler} = require("mathjax-full/js/handlers/html.js");
require("mathjax-full/js/input/tex/base/BaseConfiguration.js");
require("mathjax-full/js/input/tex/ams/AmsConfiguration.js");

RegisterHTMLHandler(liteAdaptor());
// formatError rethrows: MathJax would otherwise render errors in red instead of failing.
const tex = new TeX({packages: ["base", "ams"], formatError: (jax, err) => { throw err; }});
const doc = mathjax.document("", {InputJax: tex});

function attempt(render) {
  try {
    render();
    return null;
  } catch (err) {
    return String(err.message || err);
  }
}

const texs = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texs.map((t) => ({
  // strict: "error" refuses what KaTeX would only warn about (non-standard input).
  katex: attempt(() => katex.renderToString(t, {displayMode: true, throwOnError: true,
                                                strict: "error"})),
  mathjax: attempt(() => doc.convert(t, {display: true})),
}))));
