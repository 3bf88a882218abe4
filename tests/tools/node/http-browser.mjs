#!/usr/bin/env node
// A scripted headless chromium session for the http socket tests
// (tests/e2e/http_browser.bats, docs/http.md): one browser, one profile,
// the steps given as arguments run in order, and a transcript on stdout
// that the test reads.  Exits 0 once every step ran, 1 as soon as one
// could not (the transcript's last line, "failed: ...", says why), or
// after B0_BROWSER_TIMEOUT seconds (90).
//
//   http-browser.mjs STEP...
//
// Steps:
//   goto URL             open URL; wait until the page has settled
//   signin EMAIL FILE    fill the edge's login form on this page with EMAIL
//                        and the password in FILE, submit, settle
//   click TEXT           click the link or button named TEXT, settle
//   ws PATH MESSAGE      the page opens wss://<its host>PATH, sends
//                        MESSAGE and waits for the first message back
//   shot FILE            a full-page screenshot of this page into FILE
//   cookies              the cookies the browser holds for this page's URL
//   keep-cookie NAME     remember cookie NAME of this page's URL (in memory)
//   put-cookie NAME      set the remembered cookie NAME again, as it was
//   json                 the page's body is JSON: print it on one line
//   mark TEXT            print "mark TEXT" (to find a step in the transcript)
//
// Transcript (stdout), one line each:
//   nav STATUS URL       a main-frame document response, redirects included
//   page STATUS URL h1=H1
//   text TEXT            the page's visible text, whitespace collapsed
//                        (first 2000 characters)
//   ws echo MESSAGE      what came back
//   cookie NAME domain=D path=P httponly=0|1 secure=0|1 samesite=S expires=N
//                        (never the value)
//   shot FILE
//   json JSON
//   mark TEXT
//   done | failed: WHY
// URLs are printed without their query.
//
// Like browser.mjs it reaches only loopback and names under
// B0_BROWSER_DOMAIN (edge.test, mapped to B0_BROWSER_ADDR, 127.0.0.1);
// every other request is aborted before it leaves.  Environment:
//   B0_BROWSER_CERT        PEM certificate(s) to trust by SPKI hash
//   B0_BROWSER_BASIC_FILE  a file "USER:PASSWORD": the browser answers
//                          basic auth challenges with it (without it, a
//                          401 is shown as the page it is)
//   B0_BROWSER_PIDS=FILE   its PID is appended to FILE (for clean-up)
//   B0_BROWSER_TMPDIR      where its fresh profile is made and removed
//   B0_BROWSER_DOMAIN, B0_BROWSER_ADDR, B0_BROWSER_TIMEOUT,
//   B0_BROWSER_CHROMIUM (/usr/bin/chromium)
// Notes (what went on besides) go to stderr.
import { X509Certificate, createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const domain = (env.B0_BROWSER_DOMAIN || 'edge.test').toLowerCase();
const addr = env.B0_BROWSER_ADDR || '127.0.0.1';
const timeoutMs = Number(env.B0_BROWSER_TIMEOUT || 90) * 1000;
const steps = process.argv.slice(2);
const arity = { goto: 1, signin: 2, click: 1, ws: 2, shot: 1, cookies: 0, 'keep-cookie': 1, 'put-cookie': 1, json: 0, mark: 1 };

const noQuery = (u) => u.split(/[?#]/)[0];
const out = (line) => process.stdout.write(`${line}\n`);
const note = (line) => process.stderr.write(`http-browser: ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

// The first line of FILE (a password, a USER:PASSWORD), never printed.
function secretLine(file) {
  return readFileSync(file, 'utf8').split('\n')[0];
}

if (env.B0_BROWSER_PIDS) appendFileSync(env.B0_BROWSER_PIDS, `${process.pid}\n`);
const userDataDir = mkdtempSync(join(env.B0_BROWSER_TMPDIR || tmpdir(), 'b0-browser-'));
let context = null, finishing = false, blocked = 0;

async function finish(code, why) {
  if (finishing) return;
  finishing = true;
  out(code === 0 ? 'done' : `failed: ${why}`);
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}
setTimeout(() => finish(1, `timed out after ${timeoutMs / 1000} s`), timeoutMs).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => finish(1, `got ${sig}`));

let page = null, loads = 0, lastStatus = 0;

// True once the page has loaded after its n-th load, false after ms.
async function loadedAfter(n, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (loads > n) return true;
  return loads > n;
}

// Wait until the page is one that stays (meta refresh pages are waited
// through), then print it.
async function settle() {
  for (let refreshes = 0; ; refreshes++) {
    await page.waitForLoadState('load');
    const n = loads;
    let info = null;
    for (let i = 0; info === null; i++) {
      try {
        info = await page.evaluate(() => ({
          h1: document.querySelector('h1')?.textContent.trim().replace(/\s+/g, ' ') ?? '',
          text: (document.body?.innerText ?? '').replace(/\s+/g, ' ').trim(),
          refresh: [...document.querySelectorAll('meta[http-equiv]')].some((m) => /^refresh$/i.test(m.httpEquiv)),
        }));
      } catch (e) {
        if (i >= 20 || !/context was destroyed|navigat/i.test(e.message)) throw e;
        await sleep(100);
      }
    }
    if (info.refresh) {
      if (refreshes > 30) throw new Error(`${noQuery(page.url())} keeps reloading itself`);
      if (!(await loadedAfter(n, 20000))) throw new Error(`${noQuery(page.url())} did not reload itself`);
      continue;
    }
    if (blocked) throw new Error(`${blocked} request(s) blocked`);
    out(`page ${lastStatus} ${noQuery(page.url())} h1=${info.h1}`);
    out(`text ${info.text.slice(0, 2000)}`);
    return;
  }
}

// Run fn (which starts a navigation), then settle on the page it leads to.
async function navigating(what, fn) {
  const n = loads;
  await fn();
  if (!(await loadedAfter(n, 20000))) throw new Error(`no new page after ${what}`);
  await settle();
}

const kept = {};

async function cookiesOf(url) {
  return context.cookies(url);
}

async function step(name, a) {
  switch (name) {
  case 'goto':
    await navigating(`opening ${noQuery(a[0])}`, () => page.goto(a[0]).catch((e) => note(`navigation: ${e.message.split('\n')[0]}`)));
    return;
  case 'signin': {
    if ((await page.locator('input[name=email]').count()) === 0)
      throw new Error(`no login form on ${noQuery(page.url())}`);
    await page.fill('input[name=email]', a[0]);
    await page.fill('input[name=password]', secretLine(a[1]));
    await navigating('signing in', () => page.click('button#submit'));
    return;
  }
  case 'click': {
    let target = page.getByRole('link', { name: a[0], exact: true });
    if ((await target.count()) === 0) target = page.getByRole('button', { name: a[0], exact: true });
    if ((await target.count()) === 0) throw new Error(`nothing named "${a[0]}" to click on ${noQuery(page.url())}`);
    await navigating(`clicking "${a[0]}"`, () => target.first().click());
    return;
  }
  case 'ws': {
    const r = await page.evaluate(async ([path, msg]) => {
      return await new Promise((resolve) => {
        const ws = new WebSocket(`wss://${location.host}${path}`);
        const t = setTimeout(() => resolve({ error: 'no answer within 10 s' }), 10000);
        ws.onopen = () => ws.send(msg);
        ws.onmessage = (ev) => {
          clearTimeout(t);
          resolve({ data: String(ev.data) });
          ws.close();
        };
        ws.onerror = () => {
          clearTimeout(t);
          resolve({ error: 'the WebSocket failed' });
        };
        ws.onclose = (ev) => {
          clearTimeout(t);
          resolve({ error: `closed before an answer (code ${ev.code})` });
        };
      });
    }, a);
    if (r.error) throw new Error(`ws ${a[0]}: ${r.error}`);
    out(`ws echo ${r.data}`);
    return;
  }
  case 'shot':
    mkdirSync(dirname(a[0]), { recursive: true });
    await page.screenshot({ path: a[0], fullPage: true });
    out(`shot ${a[0]}`);
    return;
  case 'cookies':
    for (const c of await cookiesOf(page.url()))
      out(`cookie ${c.name} domain=${c.domain} path=${c.path} httponly=${c.httpOnly ? 1 : 0} secure=${c.secure ? 1 : 0} ` +
        `samesite=${c.sameSite} expires=${Math.round(c.expires)}`);
    return;
  case 'keep-cookie': {
    const c = (await cookiesOf(page.url())).find((x) => x.name === a[0]);
    if (!c) throw new Error(`no cookie ${a[0]} for ${noQuery(page.url())}`);
    kept[a[0]] = c;
    return;
  }
  case 'json': {
    const text = await page.evaluate(() => document.body?.innerText ?? '');
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`${noQuery(page.url())} is not JSON: ${e.message}`);
    }
    out(`json ${JSON.stringify(doc)}`);
    return;
  }
  case 'mark':
    out(`mark ${a[0]}`);
    return;
  case 'put-cookie': {
    const c = kept[a[0]];
    if (!c) throw new Error(`no cookie ${a[0]} kept`);
    await context.addCookies([c]);
    return;
  }
  }
}

async function main() {
  const plan = [];
  for (let i = 0; i < steps.length;) {
    const name = steps[i];
    if (!(name in arity)) throw new Error(`unknown step "${name}"`);
    if (steps.length - i - 1 < arity[name]) throw new Error(`step ${name} needs ${arity[name]} argument(s)`);
    plan.push([name, steps.slice(i + 1, i + 1 + arity[name])]);
    i += 1 + arity[name];
  }
  if (plan.length === 0) throw new Error('usage: http-browser.mjs STEP...');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--host-resolver-rules=MAP *.${domain} ${addr}, MAP ${domain} ${addr}, EXCLUDE localhost, EXCLUDE 127.*, EXCLUDE [::1], EXCLUDE ${addr}, MAP * ~NOTFOUND`];
  if (env.B0_BROWSER_CERT) flags.push(`--ignore-certificate-errors-spki-list=${spkiHashes(env.B0_BROWSER_CERT).join(',')}`);
  const childEnv = { ...env, HOME: userDataDir };
  for (const k of ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']) {
    delete childEnv[k];
    delete childEnv[k.toUpperCase()];
  }
  const opts = {
    executablePath: env.B0_BROWSER_CHROMIUM || '/usr/bin/chromium',
    ignoreDefaultArgs: true,
    args: [...flags, `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe', 'about:blank'],
    env: childEnv,
    handleSIGTERM: false, handleSIGINT: false, handleSIGHUP: false,
    viewport: { width: 1000, height: 800 },
    timeout: 30000,
  };
  if (env.B0_BROWSER_BASIC_FILE) {
    const line = secretLine(env.B0_BROWSER_BASIC_FILE);
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`${env.B0_BROWSER_BASIC_FILE}: not USER:PASSWORD`);
    opts.httpCredentials = { username: line.slice(0, colon), password: line.slice(colon + 1) };
  }
  context = await chromium.launchPersistentContext(userDataDir, opts);
  note(`chromium ${context.browser()?.version() ?? ''} started`);
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (['data:', 'blob:', 'about:'].includes(u.protocol) || allowedHost(u.hostname)) return route.continue();
    blocked++;
    note(`blocked ${noQuery(u.href)}`);
    return route.abort('blockedbyclient');
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('load', () => loads++);
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
      lastStatus = r.status();
      out(`nav ${r.status()} ${noQuery(r.url())}`);
    }
  });
  page.on('requestfailed', (r) => note(`request failed: ${noQuery(r.url())}: ${r.failure()?.errorText}`));
  for (const [name, a] of plan) await step(name, a);
  return finish(0);
}

main().catch((e) => finish(1, e.message.split('\n')[0]));
