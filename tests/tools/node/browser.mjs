#!/usr/bin/env node
// A browser for b0's tests: Debian's chromium, headless, driven by
// playwright-core, usable as $BROWSER for b0-proxy (the URL is the last
// argument).  It signs in on the pages it meets and exits 0 once a page's
// h1 starts with "Signed in", 1 on an error page (h1 + p.detail), a
// request it had to block, or after B0_BROWSER_TIMEOUT seconds (60).
// A page that reloads itself (meta refresh) is waited through.
//
//   browser.mjs [URL]
//
// It reaches only loopback addresses and names under B0_BROWSER_DOMAIN
// (edge.test), which resolve to B0_BROWSER_ADDR (127.0.0.1); every other
// request is aborted before it leaves (and other names resolve nowhere).
// Environment:
//   B0_BROWSER_CERT      PEM certificate(s) to trust by SPKI hash (the edge's)
//   B0_BROWSER_EMAIL, B0_BROWSER_PASSWORD
//                        fill the edge's login form (docs/identity.md, Pages)
//   B0_BROWSER_PROVIDER  click a.provider[data-provider=NAME] instead, then
//                        sign in at that provider (tests/tools/node/oidc-server.mjs)
//                        as B0_BROWSER_UPSTREAM_LOGIN / _PASSWORD (default:
//                        the two above) and allow access
//   B0_BROWSER_DEVICE_CODE
//                        type this code on the edge's /device page and approve;
//                        without URL the browser starts at https://DOMAIN/device
//   B0_BROWSER_DENY=1    deny instead; success is then NOT reaching "Signed in"
//   B0_BROWSER_SHOTS=DIR a screenshot of every page: DIR/NN-host-port-path.png,
//                        NN counting on across runs
//   B0_BROWSER_LOG=FILE  a line "URL-without-query h1" per page visited, and
//                        lines starting "# " for what else happened
//   B0_BROWSER_PIDS=FILE its PID is appended to FILE (for the test's clean-up)
//   B0_BROWSER_TMPDIR    where its fresh profile (--user-data-dir) is made,
//                        and removed again ($TMPDIR, /tmp)
//   B0_BROWSER_DOMAIN, B0_BROWSER_ADDR, B0_BROWSER_TIMEOUT (seconds),
//   B0_BROWSER_CHROMIUM (/usr/bin/chromium)
// Nothing is ever written to stdout: b0-proxy's stdout is an ssh stream.
import { X509Certificate, createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Whatever prints, prints to stderr.
process.stdout.write = process.stderr.write.bind(process.stderr);
console.log = console.error;

const env = process.env;
const domain = (env.B0_BROWSER_DOMAIN || 'edge.test').toLowerCase();
const addr = env.B0_BROWSER_ADDR || '127.0.0.1';
const timeoutMs = Number(env.B0_BROWSER_TIMEOUT || 60) * 1000;
const deny = env.B0_BROWSER_DENY === '1';
const logFile = env.B0_BROWSER_LOG || null;
const shots = env.B0_BROWSER_SHOTS || null;
const args = process.argv.slice(2);
const startUrl = args.length ? args[args.length - 1] : env.B0_BROWSER_DEVICE_CODE ? `https://${domain}/device` : null;

let finishing = false;
function note(line) {
  if (finishing) return;
  process.stderr.write(`browser: ${line}\n`);
  if (logFile) appendFileSync(logFile, `# ${line}\n`);
}

const noQuery = (u) => u.split(/[?#]/)[0];

function allowedHost(host) {
  host = host.toLowerCase().replace(/^\[|\]$/g, '');
  return host === domain || host.endsWith(`.${domain}`) || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' ||
    host === 'localhost' || host === addr;
}

function spkiHashes(file) {
  const pems = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) || [];
  if (pems.length === 0) throw new Error(`${file}: no PEM certificate`);
  return pems.map((p) => createHash('sha256').update(new X509Certificate(p).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64'));
}

if (env.B0_BROWSER_PIDS) appendFileSync(env.B0_BROWSER_PIDS, `${process.pid}\n`);
const userDataDir = mkdtempSync(join(env.B0_BROWSER_TMPDIR || tmpdir(), 'b0-browser-'));
let context = null, blocked = 0;

async function finish(code, why) {
  if (finishing) return;
  note(`${code === 0 ? 'done' : 'failed'}: ${why}`);
  finishing = true;
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}
setTimeout(() => finish(1, `timed out after ${timeoutMs / 1000} s`), timeoutMs).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => finish(1, `got ${sig}`));

let shotNo = 0;
// Loads of the page so far (a counter, so that no navigation is missed).
let loads = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// True once the page has loaded after its n-th load, false after ms.
async function loadedAfter(n, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (loads > n) return true;
  return loads > n;
}

// Look at the page: [URL, what it shows, which load it is].
async function visit(page) {
  let url, info, n;
  for (let i = 0; ; i++) {
    await page.waitForLoadState('load');
    n = loads;
    url = page.url();
    try {
      info = await page.evaluate(() => {
        const t = (s) => document.querySelector(s)?.textContent.trim().replace(/\s+/g, ' ') ?? null;
        return {
          h1: t('h1') ?? '', detail: t('p.detail'), error: t('.error'),
          refresh: [...document.querySelectorAll('meta[http-equiv]')].some((m) => /^refresh$/i.test(m.httpEquiv)),
        };
      });
      break;
    } catch (e) {
      // A navigation under way: look again once it is done.
      if (i >= 10 || !/context was destroyed|navigat/i.test(e.message)) throw e;
      await sleep(100);
    }
  }
  process.stderr.write(`browser: page ${noQuery(url)} "${info.h1}"\n`);
  if (logFile) appendFileSync(logFile, `${noQuery(url)} ${info.h1}\n`);
  if (shots) {
    let name = url.replace(/^[a-z-]+:\/\/+/, '').split(/[?#]/)[0].replace(/[^A-Za-z0-9.]+/g, '-').replace(/-+$/, '');
    name = `${String(++shotNo).padStart(2, '0')}-${name.slice(0, 80) || 'blank'}.png`;
    await page.screenshot({ path: join(shots, name), fullPage: true }).catch((e) => note(`screenshot ${name}: ${e.message}`));
  }
  return [url, info, n];
}

// The next action on this page: a selector to fill/click, or null if the
// page is none the browser knows.
async function act(page, info, seen) {
  const has = async (s) => (await page.locator(s).count()) > 0;
  const once = (what) => {
    seen[what] = (seen[what] || 0) + 1;
    if (seen[what] > 1) throw new Error(`${what} shown again${info.error ? `: ${info.error}` : ''}`);
  };
  if (await has('button[name=action][value=approve]')) {
    once('device confirmation');
    return `button[name=action][value=${deny ? 'deny' : 'approve'}]`;
  }
  if (await has('input[name=user_code]:not([type=hidden])')) {
    if (!env.B0_BROWSER_DEVICE_CODE) throw new Error('device page, but no B0_BROWSER_DEVICE_CODE');
    once('device code form');
    await page.fill('input[name=user_code]', env.B0_BROWSER_DEVICE_CODE);
    return 'button#submit';
  }
  if (env.B0_BROWSER_PROVIDER && (await has('a.provider'))) {
    once('edge login page');
    const sel = `a.provider[data-provider="${env.B0_BROWSER_PROVIDER}"]`;
    if (!(await has(sel))) throw new Error(`no ${sel} on the login page`);
    return sel;
  }
  if (await has('input[name=email]')) {
    if (!env.B0_BROWSER_EMAIL) throw new Error('login page, but no B0_BROWSER_EMAIL');
    once('edge login page');
    await page.fill('input[name=email]', env.B0_BROWSER_EMAIL);
    await page.fill('input[name=password]', env.B0_BROWSER_PASSWORD || '');
    return 'button#submit';
  }
  if (await has('input[name=login]')) {
    once('provider login page');
    await page.fill('input[name=login]', env.B0_BROWSER_UPSTREAM_LOGIN || env.B0_BROWSER_EMAIL || '');
    await page.fill('input[name=password]', env.B0_BROWSER_UPSTREAM_PASSWORD || env.B0_BROWSER_PASSWORD || '');
    return 'button[type=submit]';
  }
  if (await has('form[action$="/confirm"] button[type=submit]')) {
    once('provider consent page');
    return deny ? 'button[name=abort]' : 'form[action$="/confirm"] button[type=submit]';
  }
  return null;
}

async function main() {
  if (!startUrl) throw new Error('usage: browser.mjs URL');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--host-resolver-rules=MAP *.${domain} ${addr}, MAP ${domain} ${addr}, EXCLUDE localhost, EXCLUDE 127.*, EXCLUDE [::1], EXCLUDE ${addr}, MAP * ~NOTFOUND`];
  if (env.B0_BROWSER_CERT) flags.push(`--ignore-certificate-errors-spki-list=${spkiHashes(env.B0_BROWSER_CERT).join(',')}`);
  if (shots) {
    // Numbers go on from an earlier run's screenshots in the same DIR.
    mkdirSync(shots, { recursive: true });
    shotNo = readdirSync(shots).filter((f) => /^\d+-.*\.png$/.test(f)).length;
  }
  const childEnv = { ...env, HOME: userDataDir };
  for (const k of ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']) {
    delete childEnv[k];
    delete childEnv[k.toUpperCase()];
  }
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: env.B0_BROWSER_CHROMIUM || '/usr/bin/chromium',
    ignoreDefaultArgs: true,
    args: [...flags, `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe', 'about:blank'],
    env: childEnv,
    handleSIGTERM: false, handleSIGINT: false, handleSIGHUP: false,
    viewport: { width: 1000, height: 800 },
    timeout: 30000,
  });
  note(`chromium ${context.browser()?.version() ?? ''} started`);
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (['data:', 'blob:', 'about:'].includes(u.protocol) || allowedHost(u.hostname)) return route.continue();
    blocked++;
    note(`blocked ${noQuery(u.href)}`);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('load', () => loads++);
  page.on('requestfailed', (r) => note(`request failed: ${noQuery(r.url())}: ${r.failure()?.errorText}`));
  await page.goto(startUrl).catch((e) => note(`navigation: ${e.message.split('\n')[0]}`));
  const seen = {};
  let refreshes = 0;
  for (;;) {
    const [url, info, n] = await visit(page);
    if (!/^https?:/.test(url)) return finish(1, `not a web page: ${noQuery(url)}`);
    if (blocked) return finish(1, `${blocked} request(s) blocked`);
    if (info.h1.startsWith('Signed in')) return finish(deny ? 1 : 0, info.h1);
    if (info.refresh) {
      // A page that reloads itself ("Signing you in..."): wait for the next.
      if (++refreshes > 30) return finish(1, `${noQuery(url)} keeps reloading itself`);
      if (!(await loadedAfter(n, 20000))) return finish(1, `${noQuery(url)} did not reload itself`);
      continue;
    }
    if (info.detail !== null) return finish(deny ? 0 : 1, `${info.h1}: ${info.detail}`);
    if (info.h1.startsWith('Denied')) return finish(deny ? 0 : 1, info.h1);
    const sel = await act(page, info, seen);
    if (sel) await page.click(sel);
    else note(`no known form on ${noQuery(url)}; waiting`);
    if (!(await loadedAfter(n, 20000))) throw new Error(`no new page after ${sel ? `clicking ${sel}` : 'waiting'} on ${noQuery(url)}`);
  }
}

main().catch((e) => finish(1, e.message.split('\n')[0]));
