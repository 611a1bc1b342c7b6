import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

/**
 * Validates what the protocol stand-ins receive (and serve) against the official OpenAPI specs (the
 * subsets the tests use) in `test/fixtures/specs/`, so a test fails when a request would be rejected in production.
 * Written here because no maintained validator handles OpenAPI 3.0's `nullable` and the mixed
 * 3.0/3.1 dialects of these particular specs; the conversion follows `specs/tools/validate_fixtures.mjs`.
 */
/** Where the specs and fixtures live; their sources and licences are in its README. */
export const SPECS_DIR = join(import.meta.dirname, "../fixtures/specs");

type Json = unknown;

// OpenAPI 3.0 `nullable: true` → JSON Schema null types; boolean exclusive bounds → numeric form.
function denull(node: Json): Json {
  if (Array.isArray(node)) return node.map(denull);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) out[key] = denull(value);
  if (out.nullable === true) {
    delete out.nullable;
    const meaningful = Object.keys(out).filter(
      (key) => !["description", "default", "example", "title", "deprecated", "format"].includes(key),
    );
    if (meaningful.length === 0) return { type: "null" };
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (Array.isArray(out.type)) {
      if (!out.type.includes("null")) out.type = [...out.type, "null"];
    } else return { anyOf: [out, { type: "null" }] };
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  } else if (out.nullable === false) delete out.nullable;
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (out[exclusive] === true && typeof out[bound] === "number") {
      out[exclusive] = out[bound];
      delete out[bound];
    } else if (out[exclusive] === false) delete out[exclusive];
  }
  return out;
}

const escapePointer = (part: string) => encodeURIComponent(part.replace(/~/g, "~0").replace(/\//g, "~1"));

export interface ValidationResult {
  ok: boolean;
  errors: string;
}

interface PathTemplate {
  template: string;
  pattern: RegExp;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly id: string;
  private readonly cache = new Map<string, ValidateFunction>();
  readonly document: Record<string, Json>;
  private readonly templates: PathTemplate[];
  private readonly basePath: string;

  /**
   * @param specFile path under `test/fixtures/specs/`, e.g. `openai/openapi.subset.json`
   * @param basePath prefix the client puts before spec paths (`/v1` for OpenAI, `/api/v10` for Discord)
   */
  constructor(specFile: string, basePath = "") {
    const raw = JSON.parse(readFileSync(join(SPECS_DIR, specFile), "utf8")) as Record<string, Json>;
    this.document = denull(raw) as Record<string, Json>;
    const draft2020 = String(raw.openapi ?? "").startsWith("3.1");
    const AjvClass = draft2020 ? Ajv2020 : Ajv;
    this.ajv = new AjvClass({ strict: false, allErrors: true, logger: false, validateFormats: true }) as Ajv;
    addFormats(this.ajv);
    for (const format of [
      "uint",
      "uint8",
      "uint16",
      "uint32",
      "uint64",
      "int32",
      "int64",
      "float",
      "double",
      "snowflake",
      "unixtime",
      "binary",
      "byte",
      "password",
    ]) {
      this.ajv.addFormat(format, true);
    }
    this.id = `spec:${specFile}`;
    this.ajv.addSchema({ ...this.document, $id: this.id });
    this.basePath = basePath;
    const paths = Object.keys((this.document.paths ?? {}) as Record<string, Json>);
    // Literal segments win over parameters (`/messages/@original` before `/messages/{id}`).
    this.templates = paths
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`,
        ),
      }))
      .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  }

  /** The spec path template an actual request path matches, or undefined. */
  matchPath(actualPath: string): string | undefined {
    const path = actualPath.split("?")[0] ?? "";
    const stripped =
      this.basePath && path.startsWith(this.basePath) ? path.slice(this.basePath.length) : path;
    return this.templates.find((entry) => entry.pattern.test(stripped))?.template;
  }

  /** Whether the spec defines this method on the path template. */
  hasOperation(template: string, method: string): boolean {
    const item = (this.document.paths as Record<string, Record<string, Json>>)[template];
    return Boolean(item?.[method.toLowerCase()]);
  }

  private run(pointer: string, data: Json): ValidationResult {
    let validate = this.cache.get(pointer);
    if (!validate) {
      const found = this.ajv.getSchema(this.id + pointer);
      if (!found) throw new Error(`No schema at ${pointer} in ${this.id}`);
      validate = found;
      this.cache.set(pointer, validate);
    }
    const ok = validate(data) as boolean;
    return { ok, errors: ok ? "" : this.ajv.errorsText(validate.errors, { separator: "; " }) };
  }

  validateSchema(schemaName: string, data: Json): ValidationResult {
    return this.run(`#/components/schemas/${escapePointer(schemaName)}`, data);
  }

  validateRequestBody(
    template: string,
    method: string,
    body: Json,
    contentType = "application/json",
  ): ValidationResult {
    const pointer = `#/paths/${escapePointer(template)}/${method.toLowerCase()}/requestBody/content/${escapePointer(contentType)}/schema`;
    return this.run(pointer, body);
  }

  /**
   * Checks a request's query string against the operation's declared query parameters: every name
   * must be declared, required ones present, and each value (coerced from text by its schema type)
   * valid against its schema.
   */
  validateQueryParameters(template: string, method: string, query: URLSearchParams): ValidationResult {
    const operation = (this.document.paths as Record<string, Record<string, Json>>)[template]?.[
      method.toLowerCase()
    ] as { parameters?: Json[] } | undefined;
    const resolve = (parameter: Json): Record<string, Json> => {
      const reference = (parameter as { $ref?: unknown }).$ref;
      if (typeof reference !== "string") return parameter as Record<string, Json>;
      let node: Json = this.document;
      for (const part of reference.replace(/^#\//, "").split("/")) {
        node = (node as Record<string, Json>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      }
      return node as Record<string, Json>;
    };
    const declared = new Map<string, { index: number; parameter: Record<string, Json> }>();
    (operation?.parameters ?? []).forEach((raw, index) => {
      const parameter = resolve(raw);
      if (parameter.in === "query") declared.set(String(parameter.name), { index, parameter });
    });
    const errors: string[] = [];
    for (const [name, { parameter }] of declared) {
      if (parameter.required === true && !query.has(name)) errors.push(`query parameter ${name} is required`);
    }
    for (const [name, text] of query) {
      const entry = declared.get(name);
      if (!entry) {
        errors.push(`query parameter ${name} is not declared`);
        continue;
      }
      const schema = entry.parameter.schema as Record<string, Json> | undefined;
      const type = schema?.type;
      let value: Json = text;
      if (type === "integer" || type === "number") value = text.trim() === "" ? text : Number(text);
      else if (type === "boolean") value = text === "true" ? true : text === "false" ? false : text;
      const reference = ((operation?.parameters ?? [])[entry.index] as { $ref?: unknown }).$ref;
      const location =
        typeof reference === "string"
          ? `${reference}/schema`
          : `#/paths/${escapePointer(template)}/${method.toLowerCase()}/parameters/${entry.index}/schema`;
      const result = this.run(location, value);
      if (!result.ok) errors.push(`query parameter ${name}: ${result.errors}`);
    }
    return { ok: errors.length === 0, errors: errors.join("; ") };
  }

  validateResponseBody(
    template: string,
    method: string,
    status: string,
    body: Json,
    contentType = "application/json",
  ): ValidationResult {
    const pointer = `#/paths/${escapePointer(template)}/${method.toLowerCase()}/responses/${status}/content/${escapePointer(contentType)}/schema`;
    return this.run(pointer, body);
  }
}
