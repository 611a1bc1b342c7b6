/** The most items `--max` may ask for. */
const MAX_SOURCE_ITEMS = 5_000;

/** `index <target> [--every 6h] [--workspace | --channel] [--crawl] [--max N]`, taken apart. */
export interface IndexArguments {
  target: string;
  every?: string | undefined;
  scope?: "workspace" | "channel" | undefined;
  crawl: boolean;
  max?: number | undefined;
}

/**
 * Takes the flags off `index …` wherever they stand, leaving the target. Chat clients may turn `--`
 * into an em dash, so `—every` counts too. Returns a sentence for the asker when a flag is malformed.
 */
export function parseIndexArguments(args: string): IndexArguments | string {
  const words = args
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "");
  const rest: string[] = [];
  const parsed: IndexArguments = { target: "", crawl: false };
  for (let position = 0; position < words.length; position += 1) {
    const word = words[position] ?? "";
    const flag = /^(?:--|—|–)([a-z]+)(?:=(.*))?$/i.exec(word);
    if (!flag) {
      rest.push(word);
      continue;
    }
    const name = (flag[1] ?? "").toLowerCase();
    const takeValue = (): string | undefined => {
      if (flag[2] !== undefined) return flag[2];
      position += 1;
      return words[position];
    };
    switch (name) {
      case "workspace":
      case "channel":
        parsed.scope = name;
        break;
      case "crawl":
        parsed.crawl = true;
        break;
      case "every": {
        const value = takeValue();
        if (value === undefined) return "Say how often after `--every`, like `--every 6h` or `--every 1d`.";
        parsed.every = value;
        break;
      }
      case "max": {
        const value = Number(takeValue());
        if (!Number.isInteger(value) || value < 1 || value > MAX_SOURCE_ITEMS)
          return `\`--max\` takes a number of documents from 1 to ${MAX_SOURCE_ITEMS}.`;
        parsed.max = value;
        break;
      }
      default:
        return `I don't know the flag \`--${name}\`. \`index\` takes \`--every\`, \`--workspace\`, \`--channel\`, \`--crawl\` and \`--max\`.`;
    }
  }
  parsed.target = rest.join(" ");
  return parsed;
}
