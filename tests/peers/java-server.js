// A Java Edition server from npm `minecraft-protocol` (independent implementation),
// for interop tests. Usage: node java-server.js [JSON options]
// Options: { version, motd, maxPlayers, online, sample: [{name,id}], favicon (data URL),
//            sampleFile: a JSON file holding the sample, read at every ping (the online
//            count is its length), so a test can make players join and leave }
// Prints `LISTENING <port>` once it accepts connections (port 0 = any free port).
const fs = require('fs');
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
    if (opts.sampleFile) {
      try {
        const sample = JSON.parse(fs.readFileSync(opts.sampleFile, 'utf8'));
        resp.players.sample = sample;
        resp.players.online = sample.length;
      } catch (e) { /* being written: keep the last answer's shape */ }
    }
    return resp;
  },
});
server.on('listening', () => {
  console.log('LISTENING ' + server.socketServer.address().port);
});
server.on('error', (e) => { console.error(e); process.exit(1); });
