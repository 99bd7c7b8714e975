// Benchmark client for npm `minecraft-server-util`, driven by `mcstat-bench run`.
// Usage (NODE_PATH pointing at the peers' node_modules):
//   node bench-util.js WORKLOAD HOST PORT N CONCURRENCY WARMUP
// WORKLOAD: latency (N sequential Java status+ping lookups, each timed), throughput
// (N Java lookups, CONCURRENCY at a time, timed as a whole), query (N sequential full
// stats), bedrock (N sequential Bedrock pings). WARMUP lookups run first, untimed.
// Prints {"ok", "errors", "error", "elapsed_s", "cpu_s", "lat_us": [...]} as one JSON
// line; cpu_s is the process's CPU time (user + system, every thread) over the timed part.
// `status()` does status and ping on one connection, as ours does.
const util = require('minecraft-server-util');

const [workload, host] = process.argv.slice(2, 4);
const [port, n, concurrency, warmup] = process.argv.slice(4, 8).map(Number);
const options = { enableSRV: false, timeout: 5000 };

const lookups = {
  latency: () => util.status(host, port, options),
  throughput: () => util.status(host, port, options),
  query: () => util.queryFull(host, port, options),
  bedrock: () => util.statusBedrock(host, port, options),
};
const lookup = lookups[workload];
if (!lookup) {
  console.error(`unknown workload ${workload}`);
  process.exit(2);
}

let ok = 0;
let errors = 0;
let firstError = null;
const latUs = [];

async function one(timed) {
  const start = process.hrtime.bigint();
  try {
    await lookup();
  } catch (e) {
    errors += 1;
    firstError = firstError || String(e);
    return;
  }
  if (timed) latUs.push(Number(process.hrtime.bigint() - start) / 1000);
  ok += 1;
}

(async () => {
  for (let i = 0; i < warmup; i++) await one(false);
  ok = 0;
  errors = 0;
  firstError = null;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  if (workload === 'throughput') {
    let remaining = n;
    const worker = async () => {
      while (remaining > 0) {
        remaining -= 1;
        await one(false);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  } else {
    for (let i = 0; i < n; i++) await one(true);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({ ok, errors, error: firstError, elapsed_s: elapsed, cpu_s: cpuS, lat_us: latUs }));
})();
