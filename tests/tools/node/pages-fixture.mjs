// Stand-ins for the edge's pages (docs/identity.md, "Pages"), over HTTPS,
// to test browser.mjs itself (tests/e2e/tooling.bats), not the edge.
//
//   node pages-fixture.mjs CERT KEY READY-FILE [UPSTREAM-FILE]
//
// Listens on 127.0.0.1 (a free port, "READY port=N" in READY-FILE).  Every
// request is logged on stderr as "METHOD PATH [form field names]".
//   GET /login          the login form (email alice@example.com, password pw)
//                       and a.provider[data-provider=test]: /upstream/test/start
//                       redirects to the URL in UPSTREAM-FILE (read then)
//   GET /device         the user-code form (code BCDF-GHJK), then the
//                       approve/deny page, then "Signed in" or "Denied"
//   GET /cb             where the upstream sends the browser back
//   GET /outside        "Signed in", with an image from blocked.invalid
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';

const [cert, key, readyFile, upstream] = process.argv.slice(2);
if (!readyFile) {
  process.stderr.write('usage: pages-fixture.mjs CERT KEY READY-FILE [UPSTREAM-FILE]\n');
  process.exit(2);
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (h1, body = '') => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(h1)}</title></head>
<body><h1>${esc(h1)}</h1>${body}</body></html>`;
const loginForm = (error) => page('Sign in to edge.test', `${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/login"><input type="hidden" name="csrf" value="c"><input type="hidden" name="req" value="r">
<input name="email"><input type="password" name="password"><button id="submit">Sign in</button></form>
<a class="provider" data-provider="other" href="/nowhere">Other</a>
<a class="provider" data-provider="test" href="/upstream/test/start?req=r">Test provider</a>`);
const deviceForm = page('Enter the code', `<form method="post" action="/device"><input name="user_code">
<button id="submit">Next</button></form>`);
const confirm = page('Sign in b0-proxy?', `<p>Code BCDF-GHJK, client b0-proxy</p><form method="post" action="/device/confirm">
<button name="action" value="approve">Approve</button><button name="action" value="deny">Deny</button></form>`);
const errorPage = (detail) => page('Error', `<p class="detail">${esc(detail)}</p>`);

async function handle(req, res, url) {
  let form = new URLSearchParams();
  if (req.method === 'POST') {
    let body = '';
    for await (const c of req) body += c;
    form = new URLSearchParams(body);
  }
  process.stderr.write(`${req.method} ${url.pathname}${req.method === 'POST' ? ` [${[...form.keys()].join(' ')}]` : ''}\n`);
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /login') return loginForm();
  if (route === 'POST /login') {
    if (form.get('csrf') !== 'c' || form.get('req') !== 'r') return errorPage('csrf or req missing');
    if (form.get('email') === 'alice@example.com' && form.get('password') === 'pw') return page('Signed in to edge.test');
    return loginForm('Wrong email or password.');
  }
  if (route === 'GET /upstream/test/start' && upstream) {
    res.writeHead(302, { Location: readFileSync(upstream, 'utf8').trim() });
    return '';
  }
  if (route === 'GET /device') return deviceForm;
  if (route === 'POST /device') {
    const code = (form.get('user_code') || '').toUpperCase().replace(/-/g, '');
    return code === 'BCDFGHJK' ? confirm : errorPage('no such code');
  }
  if (route === 'POST /device/confirm') return form.get('action') === 'approve' ? page('Signed in') : page('Denied');
  if (route === 'GET /cb') {
    if (!url.searchParams.get('code')) return errorPage(url.searchParams.get('error') || 'no code');
    process.stderr.write('cb: got a code\n');
    return page('Signed in to edge.test (upstream)');
  }
  if (route === 'GET /outside') return page('Signed in', '<img src="http://blocked.invalid/x.png">');
  return null;
}

const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const url = new URL(req.url, 'https://edge.test');
  handle(req, res, url).then((html) => {
    if (res.headersSent) return res.end();
    res.writeHead(html === null ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html === null ? errorPage('not found') : html);
  });
});
server.listen(0, '127.0.0.1', () => writeFileSync(readyFile, `READY port=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
