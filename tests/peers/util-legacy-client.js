// npm `minecraft-server-util` as an independent legacy-ping client.
// Usage: node util-legacy-client.js <statusFE|statusFE01|statusFE01FA|statusLegacy> HOST PORT
// Prints the library's result as one JSON line (exit 1 with the error on failure).
const util = require('minecraft-server-util');
const [fn, host, port] = process.argv.slice(2);
util[fn](host, Number(port), { timeout: 5000, enableSRV: false }).then(
  (result) => console.log(JSON.stringify(result)),
  (e) => { console.error(String(e && e.stack || e)); process.exit(1); },
);
