// Child process of hostile.bench.ts: the clients. Measuring from the server's own process put the
// probes' and the attackers' HTTP client work on the event loop being measured; real clients are
// elsewhere. Plain JavaScript over node:http, so Node and Deno run it as it is.
// Input: argv[2] = JSON { url, token, seconds, hostiles: [plugin ids] }.
// Output (stdout): "ATTACK" when the attack starts, then one line "RESULT <json>".
import { Agent, request as httpRequest } from "node:http";
import process from "node:process";

const { url, token, seconds, hostiles } = JSON.parse(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

/** One request over keep-alive; resolves with the status, milliseconds taken and body. */
function send(target, init) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      target,
      { method: init.method, headers: init.headers, agent },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d.toString()));
        res.on(
          "end",
          () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** Sends one request after another until the deadline; latencies of 200s, count of others. */
async function probe(target, init, until) {
  const ms = [];
  let failed = 0;
  while (performance.now() < until) {
    const r = await send(target, init);
    if (r.status === 200) ms.push(r.ms);
    else failed++;
  }
  return { ms, failed };
}

const healthz = [`${url}/healthz`, { method: "GET" }];
const hello = [
  `${url}/v1/plugins/example.hello/capabilities/greet`,
  { method: "POST", headers, body: JSON.stringify({ name: "bench" }) },
];
// Warm-up, then idle figures.
await probe(...hello, performance.now() + 500);
const idleUntil = performance.now() + seconds * 1000;
const [idleHealth, idleHello] = await Promise.all([
  probe(...healthz, idleUntil),
  probe(...hello, idleUntil),
]);
// Under attack: each hostile plugin has one call in flight, started again as soon as it ends.
process.stdout.write("ATTACK\n");
const outcomes = {};
const attackUntil = performance.now() + seconds * 1000;
const attackers = hostiles.map(async (id) => {
  while (performance.now() < attackUntil) {
    const r = await send(`${url}/v1/plugins/${id}/capabilities/attack`, {
      method: "POST",
      headers,
      body: "{}",
    });
    const kind = r.status === 200
      ? "ok"
      : JSON.parse(r.body).type?.split("/").pop() ?? `${r.status}`;
    outcomes[kind] = (outcomes[kind] ?? 0) + 1;
  }
});
const [busyHealth, busyHello] = await Promise.all([
  probe(...healthz, attackUntil),
  probe(...hello, attackUntil),
]);
await Promise.all(attackers);
agent.destroy();
process.stdout.write(
  `RESULT ${JSON.stringify({ idleHealth, idleHello, busyHealth, busyHello, outcomes })}\n`,
);
