// A Bedrock server from npm `bedrock-protocol` (independent implementation, pure-JS
// RakNet backend), for interop tests. Usage: node bedrock-server.js [JSON options]
// Options: { port (required: a free UDP port), motd, levelName, maxPlayers, version }
// Prints `LISTENING <port>` once the UDP socket is bound.
//
// This is what `bedrock-protocol/src/createServer` does (new Server + listen), except
// that it awaits `listen()` so that readiness can be reported. The package's index
// would load the native RakNet backend, which is not built (--ignore-scripts).
const { Server } = require('bedrock-protocol/src/server');
const opts = JSON.parse(process.argv[2] || '{}');
if (!opts.port) {
  console.error('bedrock-server.js: a port is required (the library cannot bind port 0)');
  process.exit(2);
}
const server = new Server({
  host: '127.0.0.1',
  port: opts.port,
  raknetBackend: 'jsp-raknet',
  offline: true,
  motd: { motd: opts.motd ?? 'Bedrock Protocol Server', levelName: opts.levelName ?? 'bedrock-protocol' },
  maxPlayers: opts.maxPlayers ?? 5,
  ...(opts.version ? { version: opts.version } : {}),
});
server.listen().then(
  () => console.log('LISTENING ' + opts.port),
  (e) => { console.error(e); process.exit(1); },
);
