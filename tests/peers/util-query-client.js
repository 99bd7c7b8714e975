// Query client from npm minecraft-server-util: `node util-query-client.js HOST PORT full|basic`.
// Prints the library's result as one JSON line on stdout; exits 1 with the error on stderr.
'use strict';
const util = require('minecraft-server-util');

const [host, port, kind] = process.argv.slice(2);
const options = { enableSRV: false, timeout: 5000, sessionID: 0x01020304 };
const query = kind === 'basic' ? util.queryBasic : util.queryFull;

query(host, Number(port), options)
  .then((result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
  })
  .catch((err) => {
    process.stderr.write(`query failed: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
