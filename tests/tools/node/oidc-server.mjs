// A real OpenID Connect provider (panva's oidc-provider) for b0's tests:
// an "upstream provider" the edge can send people to, on loopback only.
//
//   node oidc-server.mjs CONFIG.json [PORT] [--host ADDR] [--ready-file FILE]
//                        [--tls CERT KEY]
//
// Listens on ADDR:PORT (127.0.0.1 and a free port by default); the issuer
// is http://ADDR:PORT, or https://ADDR:PORT with --tls (PEM files).  Once
// listening it prints "READY port=N" on stdout (or writes that line to
// FILE).  CONFIG.json:
//
//   {"clients": [{"client_id": "edge", "client_secret": "s3cret",
//                 "redirect_uris": ["https://edge.test:8443/upstream/callback"]}],
//    "accounts": [{"email": "alice@example.com", "password": "pw",
//                  "email_verified": true}]}
//
// ("client": {...} is taken for a single client.)  Clients are confidential
// (client_secret_post unless they say otherwise); PKCE is allowed, not
// required.  The login and consent pages are plain HTML forms served here
// (input[name=login], input[name=password], button[type=submit]) that load
// nothing from anywhere.  All state is in memory: a test that restarts the
// provider must pin its port.  SIGTERM stops it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

function usage(msg) {
  process.stderr.write(`oidc-server: ${msg}\nusage: oidc-server.mjs CONFIG.json [PORT] [--host ADDR] [--ready-file FILE] [--tls CERT KEY]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let host = '127.0.0.1', readyFile = null, cfgPath = null, port = 0, tls = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--host') host = args[++i];
  else if (args[i] === '--ready-file') readyFile = args[++i];
  else if (args[i] === '--tls') tls = { cert: args[++i], key: args[++i] };
  else if (cfgPath === null) cfgPath = args[i];
  else if (/^\d+$/.test(args[i])) port = Number(args[i]);
  else usage(`unexpected argument ${JSON.stringify(args[i])}`);
}
if (!cfgPath || !host || readyFile === undefined || (tls && !tls.key)) usage('missing argument');

let cfg;
try {
  cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
} catch (e) {
  usage(`${cfgPath}: ${e.message}`);
}
const clients = (cfg.clients || (cfg.client ? [cfg.client] : [])).map((c) => ({
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  ...c,
}));
if (clients.length === 0) usage(`${cfgPath}: no "clients"`);
const accounts = new Map();
for (const a of cfg.accounts || []) {
  if (typeof a.email !== 'string' || typeof a.password !== 'string') usage(`${cfgPath}: an account needs "email" and "password"`);
  accounts.set(a.email.toLowerCase(), a);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:2em}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

function loginForm(uid, hint, error) {
  return page('Sign in to the test provider', `${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label>Login <input name="login" value="${esc(hint || '')}" autofocus></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button name="abort">Cancel</button></form>`);
}

const keys = [
  { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'rs1', use: 'sig', alg: 'RS256' },
  { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'es1', use: 'sig', alg: 'ES256' },
];

let provider, callback;
function makeProvider(issuer) {
  provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const a = accounts.get(id);
      if (!a) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: id, email: a.email, email_verified: a.email_verified !== false }),
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<p class="detail">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
    },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`oidc-server: server error: ${err.stack}\n`));
  callback = provider.callback();
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// The interaction pages: login, then consent.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p class="detail">interaction mismatch</p>'));
  const { prompt, params } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') return send(res, 200, loginForm(uid, params.login_hint));
    return send(res, 200, page('Allow access', `<p>${esc(params.client_id)} asks for: ${esc(params.scope)}</p>
<form method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button name="abort">Deny</button></form>`));
  }
  const form = await readForm(req);
  if (action === 'login') {
    const id = (form.get('login') || '').toLowerCase();
    const a = accounts.get(id);
    if (!a || a.password !== form.get('password')) {
      process.stderr.write(`oidc-server: failed login for ${JSON.stringify(id)}\n`);
      return send(res, 200, loginForm(uid, id, 'Wrong login or password.'));
    }
    process.stderr.write(`oidc-server: ${id} signed in\n`);
    return provider.interactionFinished(req, res, { login: { accountId: id } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [ind, sc] of Object.entries(d.missingResourceScopes || {})) grant.addResourceScope(ind, sc.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the person cancelled' },
    { mergeWithLastSubmission: false });
}

const handler = (req, res) => {
  const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(req.url.split('?')[0]);
  if (!callback) return send(res, 503, page('Error', '<p class="detail">starting</p>'));
  if (!m) return callback(req, res);
  if ((req.method === 'GET') !== (m[2] === undefined)) return send(res, 405, page('Error', '<p class="detail">method not allowed</p>'));
  interaction(req, res, m[1], m[2]).catch((e) => {
    process.stderr.write(`oidc-server: interaction: ${e.message}\n`);
    if (!res.headersSent) send(res, 400, page('Error', `<p class="detail">${esc(e.message)}</p>`));
  });
};
const server = tls
  ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler)
  : http.createServer(handler);

// A port that cannot be had is an error to say, not an exception to die of.
server.on('error', (e) => {
  process.stderr.write(`oidc-server: ${host}:${port}: ${e.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => {
  // The issuer names the port, known only now when it was 0.
  const bound = server.address().port;
  makeProvider(`${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`);
  const line = `READY port=${bound}\n`;
  if (readyFile) writeFileSync(readyFile, line);
  else process.stdout.write(line);
  process.stderr.write(`oidc-server: issuer ${provider.issuer}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
});
process.on('SIGINT', () => process.exit(0));
