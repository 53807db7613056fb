// The HTTP layer's own CPU per request, in process: `app.fetch` of a ready Request, no
// sockets, so neither the runtime's HTTP stack nor a load generator shares the figure (the
// loopback bench, http.bench.ts, swings with the shared machine). Rows: a bare Hono route,
// the capability route refused by the server (415, before the core), refused at the input
// schema (422, in the core's invoke), and a capability call (durable RunRecord).
// Run: node scripts/run-ts.mjs test/bench/http-layer.bench.ts [REQUESTS=5000] [ROUNDS=3]
//      npx deno run -A test/bench/http-layer.bench.ts [REQUESTS] [ROUNDS]
import { Hono } from "hono";
import process from "node:process";
import { GREET_URL as capUrl, helloApp, PEER as peer } from "./_hello-app.ts";

const requests = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 3);
const { app, request, close } = await helloApp("plughost-http-layer-bench-");
try {
  const bare = new Hono().post("/bare", async (c) => {
    const body = await c.req.json<{ name: string }>();
    return c.json({ message: `Hello, ${body.name}!` });
  });
  const scenarios: { label: string; n: number; expect: number; send: () => Promise<Response> }[] = [
    {
      label: "bare Hono route",
      n: requests,
      expect: 200,
      send: async () =>
        await bare.fetch(request("http://bench/bare", '{"name":"b"}', "application/json", false)),
    },
    {
      label: "refused by server (415)",
      n: requests,
      expect: 415,
      send: async () => await app.fetch(request(capUrl, '{"name":"b"}', "text/plain", true), peer),
    },
    {
      label: "input refused (422)",
      n: requests,
      expect: 422,
      send: async () =>
        await app.fetch(request(capUrl, '{"name":42}', "application/json", true), peer),
    },
    {
      label: "capability call (durable RunRecord)",
      n: Math.max(1, Math.floor(requests / 10)),
      expect: 200,
      send: async () =>
        await app.fetch(request(capUrl, '{"name":"b"}', "application/json", true), peer),
    },
  ];
  const perRequest = new Map<string, number[]>();
  // Round 0 warms the JIT up and is not counted (its figures run ~1.5x the later ones).
  for (let round = 0; round <= rounds; round++) {
    for (const s of scenarios) {
      for (let i = 0; i < 100; i++) await (await s.send()).arrayBuffer();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < s.n; i++) {
        const res = await s.send();
        await res.arrayBuffer();
        if (res.status !== s.expect) throw new Error(`${s.label}: status ${res.status}`);
      }
      const cpu = process.cpuUsage(cpu0);
      if (round === 0) continue;
      const list = perRequest.get(s.label) ?? [];
      list.push((cpu.user + cpu.system) / s.n);
      perRequest.set(s.label, list);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const runtimeName = "Deno" in globalThis ? "deno" : `node ${process.version}`;
  process.stdout.write(
    `http-layer.bench: ${runtimeName}, in process, ${requests} requests x ${rounds} rounds\n`,
  );
  const bareUs = median(perRequest.get("bare Hono route")!);
  for (const [label, list] of perRequest) {
    const us = median(list);
    process.stdout.write(
      `${label.padEnd(40)} ${us.toFixed(1).padStart(8)} us CPU/request (median; rounds ${
        list.map((x) => x.toFixed(0)).join(", ")
      })  ${(us / bareUs).toFixed(2)}x bare\n`,
    );
  }
} finally {
  await close();
}
