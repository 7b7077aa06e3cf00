// A Node `ws` client for tests/websocket_clients.rs, run as `node -e <this> URL`. Offers the
// subprotocol chat.v1, reads the server's first message (JSON), sends a text and a binary
// message and checks each echo, closes with 1000 and prints one JSON line: the 101's headers,
// the first message, the subprotocol, the echoes and the close code the server answered with.
// A refused handshake or any protocol error exits non-zero with the reason on stderr.
const WebSocket = require('ws');

const url = process.argv[1];
const out = {echoes: []};
const ws = new WebSocket(url, ['chat.v1']);
const sent = [Buffer.from('hello through the proxy'), Buffer.from([0, 1, 2, 254, 255])];
let step = 0;
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail('timed out: ' + JSON.stringify(out)), 20000).unref();
ws.on('upgrade', (res) => {
  out.status = res.statusCode;
  out.upgrade = res.headers.upgrade;
  out.connection = res.headers.connection;
});
ws.on('unexpected-response', (req, res) => fail('unexpected response ' + res.statusCode));
ws.on('error', (e) => fail('error: ' + e.message));
ws.on('message', (data, isBinary) => {
  if (step === 0) {
    out.hello = JSON.parse(data.toString());
    ws.send(sent[0].toString());
  } else {
    const want = sent[step - 1];
    out.echoes.push((isBinary ? 'binary' : 'text') + (Buffer.compare(data, want) === 0 ? ' ok' : ' DIFFERENT'));
    if (step === 1) ws.send(sent[1]);
    else ws.close(1000, 'done');
  }
  step += 1;
});
ws.on('close', (code) => {
  out.subprotocol = ws.protocol;
  out.close = code;
  console.log(JSON.stringify(out));
  process.exit(0);
});
