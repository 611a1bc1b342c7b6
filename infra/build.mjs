// `npm run build`: compiles src/ and workers/ to dist/ with tsc, copies the plain JavaScript modules tsc
// does not emit (the extraction pool's thread entry, an .mjs loaded by Piscina by path), then bundles
// the process entry points over their compiled files with esbuild.
// Usage: node infra/build.mjs [outDir]   (default dist; the container test builds into a temp folder)
//
// Why a bundle: a compiled restart spent about half its CPU resolving, reading and linking some 400
// separate ES modules (the OpenAI SDK alone is 154 files, zod 95) before its first answer (issue 14).
// Only pure-JavaScript packages on the start-up path are inlined; everything else (native modules,
// packages that load files by path, SDKs loaded on first use) stays an import of node_modules, as
// does every `import()` of the sources, which becomes a chunk of its own that loads when first used.
// The rest of tsc's output stays in place: the thread entry and the modules it imports run from it.
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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

/**
 * What is started or imported from dist/ by path: the bot (the image's CMD), the worker (compose), the
 * terminal chat, and the three modules `npm run bench -- scale` imports to time a compiled restart.
 */
const ENTRY_POINTS = [
  "src/main.ts",
  "workers/main.ts",
  "src/chat.ts",
  "src/application.ts",
  "src/config.ts",
  "src/core/ports/logger.ts",
];
/**
 * Pure-JavaScript packages without native parts or files read by path, loaded by every start-up: the
 * OpenAI SDK and zod (ES modules), and the metrics client with the OpenTelemetry API it requires.
 */
const INLINED_PACKAGES = new Set([
  "openai",
  "zod",
  "marked",
  "stemmer",
  "p-limit",
  "yocto-queue",
  "prom-client",
  "@opentelemetry/api",
  "bintrees",
  "tdigest",
  "ipaddr.js",
  "robots-parser",
]);
const packageOf = (specifier) => {
  const [first = "", second = ""] = specifier.split("/");
  return first.startsWith("@") ? `${first}/${second}` : first;
};
// Chunk names carry a content hash: an earlier build's chunks would otherwise pile up beside these.
rmSync(join(outDir, "chunks"), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRY_POINTS,
  outdir: outDir,
  outbase: ".",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
  // The inlined CommonJS packages require Node's built-in modules; an ES module has no `require` of its own.
  banner: {
    js: 'import { createRequire as createRequireForBundle } from "node:module"; const require = createRequireForBundle(import.meta.url);',
  },
  plugins: [
    {
      name: "node-modules-stay-external",
      setup(builder) {
        builder.onResolve({ filter: /^[^./]/ }, (args) =>
          INLINED_PACKAGES.has(packageOf(args.path)) ? undefined : { external: true },
        );
      },
    },
  ],
});

// Two modules start a thread from a file next to themselves (`new URL("./….mjs", import.meta.url)`): the
// extraction pool (Piscina's entry) and the WAL checkpointer. In the bundle each lives in whichever output
// holds it, so that one reference is pointed at tsc's copy of the file. Exactly one output must hold each
// module, with exactly one reference.
const THREAD_FILES = [
  { module: "src/adapters/extract/extraction-pool.ts", file: "extraction-thread-entry.mjs" },
  { module: "src/adapters/sqlite/wal-checkpointer.ts", file: "wal-checkpoint-thread.mjs" },
];
for (const { module, file } of THREAD_FILES) {
  const holders = Object.entries(result.metafile.outputs).filter(([, output]) => module in output.inputs);
  if (holders.length !== 1) throw new Error(`expected one output holding ${module}, found ${holders.length}`);
  const holder = resolve(root, holders[0][0]);
  const code = readFileSync(holder, "utf8");
  const reference = `"./${file}"`;
  if (code.split(reference).length !== 2) throw new Error(`expected one reference to ${file} in ${holder}`);
  const fromHolder = relative(dirname(holder), join(outDir, dirname(module), file));
  writeFileSync(holder, code.replace(reference, JSON.stringify(`./${fromHolder}`)));
}
