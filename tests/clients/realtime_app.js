// A Node application for tests/browser_realtime.rs and tests/websocket_clients.rs, run as
// `node -e <this>`: Node's own http server with a `ws` WebSocketServer on the same port. Binds
// 127.0.0.1:0 and prints `PORT <n>`.
//   GET /page       an HTML page whose script, in the browser, opens a WebSocket to /socket
//                   (subprotocol chat.v1), exchanges a text and a binary message and closes;
//                   then reads three server-sent events from /events; then POSTs to /api/echo
//                   with fetch and credentials 'include'. It writes what it saw as JSON into
//                   #result and adds #done.
//   /socket         WebSocket: first sends one JSON text describing the handshake (path,
//                   Authorization, subprotocol), then echoes every message as it came.
//   GET /events     text/event-stream: "event 1" .. "event 3" (ids 1..3), 100 ms apart, then
//                   stays open until the client leaves.
//   /api/echo       JSON: method, path, body, Authorization.
const http = require('http');
const { WebSocketServer } = require('ws');

const PAGE = `<!doctype html><html><head><title>Realtime</title></head><body>
<pre id="result"></pre><script>
const finish = (out) => {
  document.getElementById('result').textContent = JSON.stringify(out);
  const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d);
};
const socket = () => new Promise((resolve) => {
  const r = {};
  // wss:// on an https:// page (the proxy's own HTTPS port, tests/browser_tls.rs).
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(scheme + location.host + '/socket?from=page', ['chat.v1']);
  ws.binaryType = 'arraybuffer';
  let step = 0;
  ws.onopen = () => { r.protocol = ws.protocol; };
  ws.onmessage = (e) => {
    if (step === 0) { r.hello = JSON.parse(e.data); ws.send('text from the browser'); }
    else if (step === 1) { r.text = e.data; ws.send(new Uint8Array([0, 1, 2, 254, 255])); }
    else if (step === 2) { r.binary = Array.from(new Uint8Array(e.data)); ws.close(1000, 'bye'); }
    step += 1;
  };
  ws.onerror = () => { r.error = true; };
  ws.onclose = (e) => { r.close = {code: e.code, clean: e.wasClean}; resolve(r); };
});
const events = () => new Promise((resolve) => {
  const seen = [];
  const es = new EventSource('/events');
  es.onmessage = (e) => {
    seen.push(e.data + ' #' + e.lastEventId);
    if (seen.length === 3) { es.close(); resolve({events: seen}); }
  };
  es.onerror = () => { es.close(); resolve({events: seen, error: true}); };
});
const post = async () => {
  const f = await fetch('/api/echo?via=fetch', {method: 'POST', credentials: 'include',
    headers: {'Content-Type': 'text/plain'}, body: 'posted by fetch'});
  return {status: f.status, json: await f.json()};
};
(async () => {
  const out = {};
  setTimeout(() => { out.timeout = true; finish(out); }, 20000);
  try {
    out.ws = await socket();
    out.sse = await events();
    out.fetch = await post();
  } catch (e) { out.error = String(e); }
  finish(out);
})();
</script></body></html>`;

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://app').pathname;
  if (path === '/page') {
    res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8'});
    res.end(PAGE);
  } else if (path === '/events') {
    res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
    let n = 0;
    const timer = setInterval(() => {
      n += 1;
      res.write(`id: ${n}\ndata: event ${n}\n\n`);
      if (n === 3) clearInterval(timer);
    }, 100);
    req.on('close', () => clearInterval(timer));
  } else if (path === '/api/echo') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      res.writeHead(200, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({method: req.method, path: req.url, body,
        authorization: req.headers.authorization || null}));
    });
  } else {
    res.writeHead(404, {'Content-Type': 'text/plain'});
    res.end('not found');
  }
});

const wss = new WebSocketServer({server,
  handleProtocols: (offered) => (offered.has('chat.v1') ? 'chat.v1' : false)});
wss.on('connection', (ws, req) => {
  ws.send(JSON.stringify({path: req.url, authorization: req.headers.authorization || null,
    subprotocol: ws.protocol}));
  ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary}));
});

server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
