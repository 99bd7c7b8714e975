// A Java status client from npm `minecraft-server-util` (independent implementation),
// for interop tests against our responder. Usage: node util-java-client.js HOST PORT
// Prints the `status()` result as one JSON line; exits 1 with the error on failure.
const util = require('minecraft-server-util');
const [host, port] = [process.argv[2], Number(process.argv[3])];
util
  .status(host, port, { enableSRV: false, timeout: 5000 })
  .then((res) => {
    console.log(JSON.stringify(res));
  })
  .catch((e) => {
    console.error(String(e && e.stack ? e.stack : e));
    process.exit(1);
  });
