// A Java Edition server from npm `minecraft-protocol` (independent implementation),
// for interop tests. Usage: node java-server.js [JSON options]
// Options: { version, motd, maxPlayers, online, sample: [{name,id}], favicon (data URL) }
// Prints `LISTENING <port>` once it accepts connections (port 0 = any free port).
const mc = require('minecraft-protocol');
const opts = JSON.parse(process.argv[2] || '{}');
const server = mc.createServer({
  'online-mode': false,
  host: '127.0.0.1',
  port: opts.port || 0,
  motd: opts.motd ?? 'A Minecraft Server',
  maxPlayers: opts.maxPlayers ?? 20,
  version: opts.version || '1.20.4',
  keepAlive: false,
  favicon: opts.favicon,
  beforePing: (resp) => {
    if (opts.online !== undefined) resp.players.online = opts.online;
    if (opts.sample) resp.players.sample = opts.sample;
    if (opts.description) resp.description = opts.description;
    return resp;
  },
});
server.on('listening', () => {
  console.log('LISTENING ' + server.socketServer.address().port);
});
server.on('error', (e) => { console.error(e); process.exit(1); });
