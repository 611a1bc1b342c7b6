/** Keys whose values never reach a trace, a log or an approval prompt. */
const SECRET_KEY =
  /token|secret|password|passwd|api[_-]?key|authorization|cookie|credential|private[_-]?key/i;

/**
 * The arguments of a tool call as short JSON for traces and approval prompts, with values under
 * secret-looking keys replaced by `[redacted]`. Arguments that were not valid JSON arrive as their raw
 * text; quoted secret-looking keys are redacted there too, as far as a pattern can see them.
 */
export function previewArguments(rawArguments: unknown, maxCharacters = 300): string {
  const json =
    typeof rawArguments === "string"
      ? redactText(rawArguments)
      : (JSON.stringify(redact(rawArguments)) ?? "undefined");
  return json.length > maxCharacters ? `${json.slice(0, maxCharacters - 1)}…` : json;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? "[redacted]" : redact(inner)]),
    );
  }
  return value;
}

function redactText(text: string): string {
  return text.replace(/("([^"\\]*)"\s*:\s*)"(?:[^"\\]|\\.)*"/g, (match, prefix: string, key: string) =>
    SECRET_KEY.test(key) ? `${prefix}"[redacted]"` : match,
  );
}
