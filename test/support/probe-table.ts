/**
 * Counts attacker attempts per probe for the security tests: how many were tried, how many the bot
 * refused (a refusal sentence, an approval request nobody clicked, nothing shown), and how many leaked
 * (data or an action reached the attacker). `print` writes the table the security issue asks for, so
 * a run of `npx vitest run test/e2e/security-*.test.ts` shows it.
 */
export interface ProbeRow {
  probe: string;
  attempts: number;
  refused: number;
  leaked: number;
}

export class ProbeTable {
  private readonly rows = new Map<string, ProbeRow>();

  constructor(private readonly title: string) {}

  /** One attempt of `probe`: `leaked` when anything reached the attacker, `refused` when the bot said no. */
  record(probe: string, outcome: { refused: boolean; leaked: boolean }): void {
    const row = this.rows.get(probe) ?? { probe, attempts: 0, refused: 0, leaked: 0 };
    row.attempts += 1;
    if (outcome.refused) row.refused += 1;
    if (outcome.leaked) row.leaked += 1;
    this.rows.set(probe, row);
  }

  row(probe: string): ProbeRow | undefined {
    return this.rows.get(probe);
  }

  list(): ProbeRow[] {
    return [...this.rows.values()];
  }

  /** A Markdown table: probe | attempts | refused | leaked. */
  render(): string {
    const lines = [
      `${this.title}`,
      "| probe | attempts | refused | leaked |",
      "|---|---:|---:|---:|",
      ...this.list().map((row) => `| ${row.probe} | ${row.attempts} | ${row.refused} | ${row.leaked} |`),
    ];
    return lines.join("\n");
  }

  print(): void {
    if (this.rows.size > 0) process.stdout.write(`\n${this.render()}\n\n`);
  }
}
