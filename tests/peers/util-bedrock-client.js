// npm `minecraft-server-util` as an independent Bedrock client.
// Usage: node util-bedrock-client.js HOST PORT
// Prints the library's result as one JSON line (BigInt as a decimal string).
const util = require('minecraft-server-util');
const [host, port] = process.argv.slice(2);
util.statusBedrock(host, Number(port), { timeout: 5000, enableSRV: false }).then(
  (result) => console.log(JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? v.toString() : v))),
  (e) => { console.error(String(e && e.stack || e)); process.exit(1); },
);
