import { parse } from "csv-parse/sync";
import type { ExtractedText } from "./markdown-extractor.js";

/** Rows read from one CSV file; the answer keeps fewer still, as many as its token budget holds. */
export const MAX_CSV_ROWS = 5_000;

function cell(value: unknown): string {
  // A pipe would end the cell and a newline the row: both are written so the table stays a table.
  return String(value ?? "")
    .replace(/\r?\n/g, " ")
    .replace(/\|/g, "\\|")
    .trim();
}

/**
 * A CSV file as a Markdown table the model can read: the first record is the header, every row
 * gets as many cells as the widest one. The separator (comma, semicolon, tab) is guessed from the
 * header line. Parsing is csv-parse's (quotes, escaped quotes and newlines inside quoted cells are
 * its business); it stops after `MAX_CSV_ROWS` records and the text says how many it kept.
 */
export function extractCsv(source: string): ExtractedText {
  const firstLine = source.slice(0, source.indexOf("\n") >= 0 ? source.indexOf("\n") : source.length);
  const delimiter = [",", ";", "\t"].reduce((best, candidate) =>
    firstLine.split(candidate).length > firstLine.split(best).length ? candidate : best,
  );
  const records = parse(source, {
    delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    // The header, the rows kept, and one more to know there were more.
    to: MAX_CSV_ROWS + 2,
  }) as unknown[][];
  if (records.length === 0) return { title: undefined, text: "" };
  const width = Math.max(...records.map((record) => record.length));
  const row = (record: unknown[]) =>
    `| ${Array.from({ length: width }, (_, index) => cell(record[index])).join(" | ")} |`;
  const [header = [], ...rows] = records;
  const kept = rows.slice(0, MAX_CSV_ROWS);
  const lines = [row(header), `|${" --- |".repeat(width)}`, ...kept.map(row)];
  if (rows.length > MAX_CSV_ROWS) lines.push("", `(Only the first ${MAX_CSV_ROWS} rows were read.)`);
  return { title: undefined, text: lines.join("\n") };
}
