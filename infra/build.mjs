// `npm run build`: compiles src/ and workers/ to dist/ with tsc, then copies the plain JavaScript
// modules tsc does not emit (the extraction pool's thread entry, an .mjs loaded by Piscina by path).
// Usage: node infra/build.mjs [outDir]   (default dist; the container test builds into a temp folder)
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(process.argv[2] ?? join(root, "dist"));
execFileSync(
  join(root, "node_modules/.bin/tsc"),
  ["-p", join(root, "tsconfig.build.json"), "--outDir", outDir],
  {
    stdio: "inherit",
  },
);
// A plain walk: Node 20's recursive readdir with file types has dropped entries in some releases.
function copyModules(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const source = join(directory, entry.name);
    if (entry.isDirectory()) copyModules(source);
    else if (entry.isFile() && entry.name.endsWith(".mjs"))
      cpSync(source, join(outDir, relative(root, source)));
  }
}
for (const top of ["src", "workers"]) copyModules(join(root, top));
