/**
 * One benchmark in its own process: `node --import tsx bench/child.ts <name> <quick|full>`.
 * Reports progress and, at the end, its figures and its own peak RSS (bench/lib/progress.ts).
 */
import { SUITE } from "./suite.ts";
import { send, progress } from "./lib/progress.ts";

const [name, mode] = process.argv.slice(2);
const def = SUITE.find((b) => b.name === name);
if (!def || (mode !== "quick" && mode !== "full")) {
  process.stderr.write(`usage: bench/child.ts <${SUITE.map((b) => b.name).join("|")}> <quick|full>\n`);
  process.exit(2);
}
process.env.FLOTILLA_LOG ??= "error";
try {
  const figures = await def.run(mode, progress);
  send({ type: "result", figures, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  process.exit(0);
} catch (e) {
  process.stderr.write(`${name} failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
