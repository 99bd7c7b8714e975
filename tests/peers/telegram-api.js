// A fake Telegram Bot API for end-to-end tests of the Telegram bot.
//
// The fake itself is npm `telegram-test-api` (independent implementation): it stores
// what the bot sends and lets the test play the user (POST /sendMessage,
// /sendCallback, /getUpdatesHistory). In front of it sits a small proxy of ours that
// fills the gaps the bot meets against it (said in the README's test notes):
//   - getMe lacks `is_bot`: answered here with a complete user.
//   - editMessageText and answerCallbackQuery answer `result: null`, which no real
//     API does: forwarded, then answered with a Message / `true` as Telegram does.
//   - setMyCommands, answerInlineQuery, deleteWebhook-less methods it does not serve
//     (HTTP 500): answered `true` here and recorded.
//   - setWebhook: teloxide sends it as multipart/form-data, which it cannot read; the
//     fields are parsed and recorded here and `true` answered (not forwarded, so the
//     fake never posts to the bot's webhook by itself: the test does, with and without
//     the secret token).
//   - sendPhoto / editMessageCaption: not served by it (HTTP 500). Here the photo's
//     caption is stored through its sendMessage / editMessageText (marked
//     `photo: true`, so the test sees one message per photo and its edits), and the
//     answer is a photo Message as Telegram's; the recorded call keeps the file's name,
//     size and whether it starts with the PNG signature.
//   - getUpdates: its callback queries lack the required `chat_instance`: added here.
//   - blocked chats: it never refuses a chat. POST /_fake/block {"chat_id": n,
//     "blocked": true|false} makes sendMessage to that chat answer 403 "Forbidden: bot
//     was blocked by the user" (Telegram's exact shape), as when a user blocks the bot.
//   - group upgrades: POST /_fake/migrate {"chat_id": n, "to": m} makes sendMessage to
//     n answer 400 "group chat was upgraded to a supergroup chat" with
//     parameters.migrate_to_chat_id = m (Telegram's shape), as after an upgrade.
//   - 429: it never rate-limits, so the first `fail429` sendMessage calls are answered
//     429 with `retry_after` here (Telegram's exact shape) and not forwarded.
// Every bot call is recorded; GET /_fake/calls returns them (method in lower case,
// body, time).
//
// Usage: node telegram-api.js '{"fail429":1,"retryAfter":1}'
// Prints `LISTENING <port>` (the proxy's port; user-side routes are proxied too).
const http = require('http');
const net = require('net');
const TelegramServer = require('telegram-test-api');

const opts = JSON.parse(process.argv[2] || '{}');
let fail429 = opts.fail429 || 0;
const retryAfter = opts.retryAfter ?? 1;
const calls = [];
const blocked = new Set();
// Groups upgraded to supergroups: old chat id -> new chat id.
const migrated = new Map();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function forward(port, req, body) {
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: '127.0.0.1', port, path: req.url, method: req.method,
      headers: { ...req.headers, host: `127.0.0.1:${port}`, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

// The text fields of a multipart/form-data body.
function parseMultipart(type, body) {
  const m = type.match(/boundary=("?)([^";]+)\1/);
  const fields = {};
  if (!m) return fields;
  for (const part of body.split('--' + m[2])) {
    const at = part.indexOf('\r\n\r\n');
    if (at < 0) continue;
    const head = part.slice(0, at);
    const name = head.match(/name="([^"]+)"/);
    if (!name) continue;
    let value = part.slice(at + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    const file = head.match(/filename="([^"]*)"/);
    if (file) {
      const raw = Buffer.from(value, 'latin1');
      const png = value.slice(1, 4) === 'PNG';
      // A PNG's size is in its IHDR chunk, right after the signature.
      fields[name[1]] = {
        filename: file[1], bytes: raw.length, png,
        width: png && raw.length >= 24 ? raw.readUInt32BE(16) : null,
        height: png && raw.length >= 24 ? raw.readUInt32BE(20) : null,
      };
      continue;
    }
    value = Buffer.from(value, 'latin1').toString('utf8');
    try { fields[name[1]] = JSON.parse(value); } catch (e) { fields[name[1]] = value; }
  }
  return fields;
}

function passOn(res, r) {
  res.writeHead(r.status, { 'content-type': r.headers['content-type'] || 'application/json', 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

function send(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

(async () => {
  const innerPort = await freePort();
  const server = new TelegramServer({ port: innerPort, host: '127.0.0.1', storeTimeout: 600 });
  await server.start();

  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      try {
        if (req.url === '/_fake/calls') {
          send(res, 200, { ok: true, result: calls });
          return;
        }
        if (req.url === '/_fake/migrate') {
          const b = JSON.parse(body || '{}');
          migrated.set(Number(b.chat_id), Number(b.to));
          send(res, 200, { ok: true, result: true });
          return;
        }
        if (req.url === '/_fake/block') {
          const b = JSON.parse(body || '{}');
          if (b.blocked === false) blocked.delete(Number(b.chat_id)); else blocked.add(Number(b.chat_id));
          send(res, 200, { ok: true, result: true });
          return;
        }
        const m = req.url.match(/^\/bot[^/]+\/([A-Za-z]+)/);
        if (!m) {
          const r = await forward(innerPort, req, body);
          passOn(res, r);
          return;
        }
        // Method names are case-insensitive (teloxide sends `SendMessage`).
        const method = m[1].toLowerCase();
        let parsed = {};
        const type = req.headers['content-type'] || '';
        if (type.startsWith('multipart/form-data')) {
          parsed = parseMultipart(type, Buffer.concat(chunks).toString('latin1'));
        } else {
          try { parsed = body ? JSON.parse(body) : {}; } catch (e) { parsed = { raw: body }; }
        }
        calls.push({ method, body: parsed, at: Date.now() });
        switch (method) {
          case 'getme':
            send(res, 200, { ok: true, result: { id: 666, is_bot: true, first_name: 'Test First name', username: 'TestNameBot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: true, can_connect_to_business: false, has_main_web_app: false } });
            return;
          case 'setwebhook':
          case 'setmycommands':
          case 'deletemycommands':
          case 'answerinlinequery':
          case 'sendchataction':
            send(res, 200, { ok: true, result: true });
            return;
          case 'sendmessage':
            if (blocked.has(Number(parsed.chat_id))) {
              send(res, 403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
              return;
            }
            if (migrated.has(Number(parsed.chat_id))) {
              send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: migrated.get(Number(parsed.chat_id)) } });
              return;
            }
            if (fail429 > 0) {
              fail429 -= 1;
              send(res, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });
              return;
            }
            break;
          case 'sendphoto':
          case 'editmessagecaption': {
            const inner = method === 'sendphoto'
              ? { chat_id: parsed.chat_id, text: String(parsed.caption || ''), parse_mode: parsed.parse_mode, reply_markup: parsed.reply_markup, photo: true }
              : { chat_id: parsed.chat_id, message_id: parsed.message_id, text: String(parsed.caption || ''), parse_mode: parsed.parse_mode, reply_markup: parsed.reply_markup };
            const innerMethod = method === 'sendphoto' ? 'sendMessage' : 'editMessageText';
            const text = JSON.stringify(inner);
            const r = await forward(innerPort, {
              url: req.url.replace(/\/[A-Za-z]+$/, '/' + innerMethod),
              method: 'POST',
              headers: { 'content-type': 'application/json' },
            }, text);
            const data = JSON.parse(r.body);
            const now = Math.floor(Date.now() / 1000);
            const id = method === 'sendphoto' ? data.result.message_id : Number(parsed.message_id);
            send(res, r.status, { ok: true, result: {
              message_id: id,
              date: now,
              chat: { id: Number(parsed.chat_id), type: 'private', first_name: 'Bot' },
              photo: [{ file_id: 'icon', file_unique_id: 'icon', width: 64, height: 64 }],
              caption: inner.text,
            } });
            return;
          }
          default:
            break;
        }
        const r = await forward(innerPort, req, body);
        if (method === 'getupdates' && r.status === 200) {
          const data = JSON.parse(r.body);
          for (const u of data.result || []) {
            if (u.callback_query && u.callback_query.chat_instance === undefined) {
              const chat = u.callback_query.message && u.callback_query.message.chat;
              u.callback_query.chat_instance = String(chat ? chat.id : u.callback_query.from.id);
            }
          }
          send(res, 200, data);
          return;
        }
        if (method === 'answercallbackquery' && r.status === 200) {
          send(res, 200, { ok: true, result: true });
          return;
        }
        if (method === 'editmessagetext' && r.status === 200) {
          if (parsed.inline_message_id) {
            send(res, 200, { ok: true, result: true });
            return;
          }
          send(res, 200, { ok: true, result: {
            message_id: Number(parsed.message_id),
            date: Math.floor(Date.now() / 1000),
            edit_date: Math.floor(Date.now() / 1000),
            chat: { id: Number(parsed.chat_id), type: 'private', first_name: 'Bot' },
            text: String(parsed.text || ''),
          } });
          return;
        }
        passOn(res, r);
      } catch (e) {
        send(res, 500, { ok: false, error_code: 500, description: `fake proxy: ${e}` });
      }
    });
  });
  proxy.listen(opts.port || 0, '127.0.0.1', () => {
    console.log('LISTENING ' + proxy.address().port);
  });
})().catch((e) => { console.error(e); process.exit(1); });
