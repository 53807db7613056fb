/**
 * bench-results.json as Markdown tables (for docs/performance.md):
 * `npm run bench -- --md FILE` writes them beside the JSON.
 * @module
 */
import type { Figure } from "./_stats.ts";
import { show } from "./_stats.ts";

/** The parts of bench-results.json the tables show. */
export interface ResultsView {
  date: string;
  quick: boolean;
  seconds: number;
  machine: {
    nproc: number;
    cpu: string;
    memoryGiB: number;
    node: string;
    deno: string;
    platform: string;
    loadAtStart: number[];
    loadDuringRun: { mean: number; max: number };
  };
  goals: { label: string; met: boolean; gap: string }[];
  benchmarks: {
    name: string;
    runtime: string;
    ok: boolean;
    runs: number;
    figures: Figure[];
    notes: string[];
    error?: string;
  }[];
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** Markdown: machine line, goals table, then one table per benchmark. */
export function renderMarkdown(r: ResultsView): string {
  const m = r.machine;
  const out: string[] = [
    `Run of ${r.date}${
      r.quick ? " (--quick)" : ""
    }, ${r.seconds} s: ${m.nproc} cores (${m.cpu}), ` +
    `${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, Deno ${m.deno}; load average ` +
    `${
      m.loadAtStart[0]
    } at start, ${m.loadDuringRun.mean} mean (max ${m.loadDuringRun.max}) during the run.`,
    "",
    "| goal | result | median (min-max) and gap |",
    "|---|---|---|",
    ...r.goals.map((g) =>
      `| ${cell(g.label)} | ${g.met ? "met" : "**not met**"} | ${cell(g.gap)} |`
    ),
  ];
  for (const b of r.benchmarks) {
    out.push(
      "",
      `### ${b.name} (${b.runtime}${b.runs > 1 ? `, medians over ${b.runs} process runs` : ""})${
        b.ok ? "" : " FAILED"
      }`,
      "",
    );
    if (b.error) out.push(`Failed: ${cell(b.error)}`, "");
    if (b.figures.length > 0) {
      out.push("| figure | median (min-max) | unit | rounds |", "|---|---:|---|---:|");
      for (const f of b.figures) {
        out.push(`| ${cell(f.label)} | ${show(f.stat)} | ${f.unit} | ${f.stat.n} |`);
      }
    }
    for (const n of b.notes) out.push("", `${cell(n)}`);
  }
  return out.join("\n") + "\n";
}
