// A module-resolution hook for tests (registered with `node --import`): prints every resolved URL to
// stderr, one per line, prefixed with "resolved ", so a test can see what a process loaded.
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  process.stderr.write(`resolved ${resolved.url}\n`);
  return resolved;
}
