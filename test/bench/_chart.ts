/**
 * An SVG chart of the side-by-side figures (`npm run bench -- --svg FILE`):
 * per panel, one bar per side on a log scale (median), with a min-max whisker.
 * @module
 */
import type { Figure } from "./_stats.ts";

/** One panel: which figures, in which order, under which title. */
interface Panel {
  title: string;
  unit: string;
  bars: { id: string; label: string }[];
}

const panels: Panel[] = [
  {
    title: "16-byte echo: microseconds per call (log scale, lower is better)",
    unit: "us",
    bars: [
      { id: "call.raw.us", label: "raw WebAssembly export" },
      { id: "call.raw_copy.us", label: "raw export + copies from/to JS" },
      { id: "call.extism_main.us", label: "bare Extism, main thread" },
      { id: "call.host.us", label: "host runtime.invoke" },
      { id: "call.extism_worker.us", label: "bare Extism, worker" },
    ],
  },
  {
    title: "64 KiB echo: MiB/s (log scale, higher is better)",
    unit: "MiB/s",
    bars: [
      { id: "payload.64k.host", label: "host runtime.invoke" },
      { id: "payload.64k.main", label: "bare Extism (PDK, 8 B per call)" },
      { id: "payload.64k.kernel", label: "same ABI without Extism" },
      { id: "payload.64k.bulk", label: "bare Extism + bulk host functions" },
      { id: "payload.64k.block", label: "block copy floor (raw wasm)" },
    ],
  },
];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const fmt = (x: number) => x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2);

/** The chart for these figures; bars whose figure is missing are left out. */
export function renderSvg(figures: Figure[], caption: string): string {
  const byId = new Map(figures.map((f) => [f.id, f]));
  const width = 760;
  const left = 250;
  const plot = width - left - 90;
  const rowH = 22;
  const out: string[] = [];
  let y = 30;
  for (const panel of panels) {
    const bars = panel.bars
      .map((b) => ({ ...b, f: byId.get(b.id) }))
      .filter((b) => b.f && b.f.stat.min > 0);
    if (bars.length === 0) continue;
    const lo = Math.log10(Math.min(...bars.map((b) => b.f!.stat.min))) - 0.3;
    const hi = Math.log10(Math.max(...bars.map((b) => b.f!.stat.max))) + 0.1;
    const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo)) * plot;
    out.push(`<text x="10" y="${y}" font-weight="bold">${esc(panel.title)}</text>`);
    y += 12;
    for (const b of bars) {
      const s = b.f!.stat;
      const cy = y + rowH / 2;
      out.push(
        `<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${left}" y="${y + 3}" width="${(x(s.median) - left).toFixed(1)}" height="${
          rowH - 6
        }" fill="#4a7bb7"/>`,
        `<line x1="${x(s.min).toFixed(1)}" x2="${
          x(s.max).toFixed(1)
        }" y1="${cy}" y2="${cy}" stroke="#222"/>`,
        `<text x="${(x(s.max) + 6).toFixed(1)}" y="${cy + 4}">${fmt(s.median)} ${
          esc(panel.unit)
        }</text>`,
      );
      y += rowH;
    }
    y += 24;
  }
  out.push(`<text x="10" y="${y}" fill="#555">${esc(caption)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${
    y + 12
  }" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${
    out.join("\n")
  }\n</svg>\n`;
}
