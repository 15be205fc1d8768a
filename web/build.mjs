// Bundles the browser code (the check-in page's enhancement, the staff application and its
// stylesheet) for `rapport` to serve under /assets/ (no CDN, no inline script, so
// the strict Content-Security-Policy holds). Usage: node build.mjs --outdir DIR
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf("--outdir");
const outdir = at > 0 ? process.argv[at + 1] : join(here, "dist");
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: [join(here, "src/checkin.ts"), join(here, "src/app.ts"), join(here, "src/app.css")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome90", "firefox90", "safari14"],
  outdir,
  logLevel: "warning",
});
