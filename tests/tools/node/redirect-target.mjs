// A stand-in for an OAuth client's redirect URI, for tooling tests.
//
//   node redirect-target.mjs OUT.json [--ready-file FILE]
//
// Listens on 127.0.0.1 (a free port; "READY port=N" on stdout or in FILE).
// The first request's query parameters go to OUT.json (0600), and it is
// answered with a page whose h1 is "Signed in (redirect target)", or
// "Error" with a p.detail when the query carries an error.  SIGTERM stops it.
import { writeFileSync } from 'node:fs';
import http from 'node:http';

const [out, flag, readyFile] = process.argv.slice(2);
if (!out || (flag !== undefined && flag !== '--ready-file')) {
  process.stderr.write('usage: redirect-target.mjs OUT.json [--ready-file FILE]\n');
  process.exit(2);
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
let written = false;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  if (u.pathname === '/favicon.ico') return res.writeHead(404).end();
  const q = Object.fromEntries(u.searchParams);
  if (!written) writeFileSync(out, `${JSON.stringify({ path: u.pathname, query: q })}\n`, { mode: 0o600 });
  written = true;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(q.error ? `<!DOCTYPE html><h1>Error</h1><p class="detail">${esc(q.error)}</p>`
    : '<!DOCTYPE html><h1>Signed in (redirect target)</h1>');
});
server.listen(0, '127.0.0.1', () => {
  const line = `READY port=${server.address().port}\n`;
  if (readyFile) writeFileSync(readyFile, line);
  else process.stdout.write(line);
});
process.on('SIGTERM', () => process.exit(0));
