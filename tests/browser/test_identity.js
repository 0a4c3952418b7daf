// tests/browser/test_identity.js - the status page for a caller the server knows
// (docs/self-service.md, "Who is asking"), in Debian's Chromium driven by playwright-core,
// against strongmapd with the demo directory (examples/demo.ldif):
//
//   1. the client certificate: strongmapd over HTTPS with optional client certificates
//      ([tls] client_ca: the demo's issuing CA), and a browser context that presents a
//      certificate issued at test time for alice, with her SID (Will work) or without it
//      (Will fail). playwright-core's clientCertificates option does the TLS handshake
//      itself, in its own proxy between Chromium and the server: the browser's certificate
//      prompt and smart cards are not exercised, only what strongmapd does with the
//      certificate once presented;
//   2. the trusted proxy's header: a real nginx in front, with the ```nginx block of
//      docs/self-service.md (auth_basic signs alice in, X-Remote-User set from $remote_user),
//      connecting from 127.0.0.3, the only trusted proxy; the page through nginx shows alice's
//      account, a header the browser adds itself is replaced by nginx, and the same forged
//      header sent to strongmapd directly (from 127.0.0.1) is refused;
//   3. lab mode ([page] lab_mode): a name typed with the keyboard only, sent with GET, the
//      answer labelled lab mode.
//
// Each page works without JavaScript, and axe-core finds no serious or critical violation in
// it; no Content-Security-Policy violation. Screenshots go to ARTIFACTS_DIR.
//
//   node test_identity.js STRONGMAPD EXAMPLES_DIR ARTIFACTS_DIR     (run.sh sets NODE_PATH)
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [daemonPath, examples, artifacts] = process.argv.slice(2);
const ROOT = path.resolve(examples, '..');
const SELF_DOC = path.join(ROOT, 'docs', 'self-service.md');
const ALICE = '/DC=com/DC=example/OU=Users/CN=Alice';
const UPN_SAN = 'subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com';
const SID_EXT = ['1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_ext', '[sid_ext]',
  'other = IMPLICIT:0,SEQUENCE:sid_other', '[sid_other]', 'typeid = OID:1.3.6.1.4.1.311.25.2.1',
  'value = EXPLICIT:0,OCTETSTRING:S-1-5-21-1004336348-1177238915-682003330-1105'];
let failures = 0;

function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

function unavailable(what) {
  console.error(`browser: ${what}`);
  if (process.env.CI === 'true') {
    console.error('browser: FAIL (CI=true: the browser tests must run)');
    process.exit(1);
  }
  console.error(`SKIP: ${what} (under CI=true this fails)`);
  process.exit(77);
}

function startDaemon(args) {
  return new Promise((resolve, reject) => {
    const d = spawn(daemonPath, ['--allow-root', '--listen', '127.0.0.1:0', '--threads', '2',
      '--ldif', path.join(examples, 'demo.ldif'), '--page-rate', '0', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('daemon did not start:\n' + log)), 10000);
    d.stderr.on('data', (b) => {
      log += b;
      const m = /listening on ([0-9.]+):(\d+)/.exec(log);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc: d, port: Number(m[2]), log: () => log });
      }
    });
    d.on('exit', (code) => reject(new Error(`daemon exited (${code}):\n` + log)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Certificates: the server's from a CA of its own, alice's from the demo's issuing CA
// (tests/data/certs, in examples/demo.ldif's NTAuth store), made by tests/lib/pki.py.
function makePki(dir) {
  const pki = path.join(ROOT, 'tests', 'lib', 'pki.py');
  const run = (...args) => execFileSync('python3', [pki, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  fs.mkdirSync(dir, { recursive: true });
  for (const n of ['issuing_ca', 'root_ca']) {
    for (const ext of ['.pem', '.key']) {
      fs.copyFileSync(path.join(ROOT, 'tests', 'data', 'certs', n + ext), path.join(dir, n + ext));
    }
  }
  run('ca', dir, 'server_ca', '/CN=Browser Test Server CA');
  run('issue', dir, 'server', 'server_ca', '/CN=localhost', 'server_ext');
  // 400 days: not within the 30 days that make a certificate at risk
  run('issue', dir, 'alice_sid', 'issuing_ca', ALICE, 'client_ext', UPN_SAN, ...SID_EXT, '--days', '400');
  run('issue', dir, 'alice_upn', 'issuing_ca', ALICE, 'client_ext', UPN_SAN, '--days', '400');
  const cas = path.join(dir, 'client_cas.pem');
  fs.writeFileSync(cas, ['issuing_ca', 'root_ca'].map((n) =>
    fs.readFileSync(path.join(dir, n + '.pem'), 'utf8')).join(''));
  const p = (n, ext = '.pem') => path.join(dir, n + ext);
  return { p, cas };
}

// nginx with the ```nginx block of docs/self-service.md, the test's addresses and paths in place
// of its example values.
async function startNginx(dir, pki, daemonPort) {
  const m = /```nginx\n([\s\S]*?)```/.exec(fs.readFileSync(SELF_DOC, 'utf8'));
  if (!m) throw new Error(`no \`\`\`nginx block in ${SELF_DOC}`);
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, 'alice:{PLAIN}alice-password\n');
  const values = {
    'listen 443 ssl;': `listen 127.0.0.1:${port} ssl;`,
    '/etc/nginx/tls/status.pem': pki.p('server'),
    '/etc/nginx/tls/status.key': pki.p('server', '.key'),
    '/etc/nginx/status.htpasswd': htpasswd,
    // the address nginx connects from: 127.0.0.3, so that the browser (127.0.0.1) is not it
    'proxy_pass http://127.0.0.1:8080;': `proxy_pass http://127.0.0.1:${daemonPort}; proxy_bind 127.0.0.3;`,
  };
  let server = m[1];
  for (const [k, v] of Object.entries(values)) {
    if (!server.includes(k)) throw new Error(`${JSON.stringify(k)} is not in the document's nginx block`);
    server = server.replace(k, v);
  }
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${server}
}
`);
  fs.chmodSync(dir, 0o755); // nginx's workers (nobody when started as root) read below it
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((f) => fs.existsSync(f));
  if (!nginx) unavailable('no nginx (Debian package nginx-light; scripts/deps.sh test)');
  const proc = spawn(nginx, ['-e', path.join(dir, 'error.log'), '-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return { proc, base: `https://127.0.0.1:${port}` };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGTERM');
  throw new Error('nginx did not start: ' + fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-2000));
}

async function newContext(browser, opts, seen) {
  const ctx = await browser.newContext(opts);
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  ctx.on('console', (msg) => {
    if (msg.type() === 'error') seen.console.push(msg.text());
  });
  return ctx;
}

async function cspOf(page, seen) {
  seen.csp.push(...await page.evaluate(() => window.__csp || []).catch(() => []));
}

async function shots(page, name) {
  for (const [w, h, tag] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: path.join(artifacts, `${name}-${tag}.png`), fullPage: true });
  }
}

// axe-core in a context that bypasses the CSP (axe is injected as a script the policy refuses).
async function audit(browser, opts, url, what) {
  const ctx = await browser.newContext({ ...opts, javaScriptEnabled: true, bypassCSP: true });
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.addScriptTag({ content: fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
    const res = await page.evaluate(() => window.axe.run());
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    check(bad.length === 0, `axe-core on ${what}: no serious or critical violation ` +
          `(all: ${JSON.stringify(res.violations.map((v) => `${v.id} (${v.impact})`))})`);
  } finally {
    await ctx.close();
  }
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strongmap-identity-'));
  fs.chmodSync(tmp, 0o755); // nginx's workers (nobody when started as root) read below it
  const procs = [];
  const seen = { csp: [], console: [] };
  let browser;
  try {
    const pki = makePki(path.join(tmp, 'pki'));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });

    // ---- 1. the client certificate
    const tls = await startDaemon(['--tls-cert', pki.p('server'), '--tls-key', pki.p('server', '.key'),
      '--tls-client-ca', pki.cas, '--tls-client-required', 'no']);
    procs.push(tls.proc);
    const tbase = `https://127.0.0.1:${tls.port}`;
    // without her SID the certificate proves no account (its UPN is whatever was enrolled):
    // the answer is an upload's, without her account (docs/self-service.md)
    for (const [name, state, re, who] of [
      ['alice_sid', 'Your account: Will work', /ready|will work/i,
        /For the certificate your browser presented, which names alice\./],
      ['alice_upn', 'Result: Will fail', /does not carry the account identifier/,
        /For the certificate your browser presented\. It does not prove which account/]]) {
      const opts = {
        ignoreHTTPSErrors: true, // the server's certificate is the test CA's
        clientCertificates: [{ origin: tbase, certPath: pki.p(name), keyPath: pki.p(name, '.key') }],
      };
      for (const js of [true, false]) {
        const ctx = await newContext(browser, { ...opts, javaScriptEnabled: js }, seen);
        const page = await ctx.newPage();
        await page.goto(tbase + '/status');
        const h2 = ((await page.textContent('#self-state').catch(() => '')) || '').trim();
        check(h2 === state, `certificate ${name}, JS ${js ? 'on' : 'off'}: the page says "${h2}"`);
        check(who.test(await page.textContent('.identity').catch(() => '')),
              `certificate ${name}: who it is for`);
        check(re.test(await page.textContent('.self .why').catch(() => '')),
              `certificate ${name}: the reason in words`);
        check(await page.isVisible('#check'), `certificate ${name}: the upload form stays`);
        if (js) {
          check(await page.isVisible('.self button.copy'), `certificate ${name}: the copy button`);
          await cspOf(page, seen);
          await shots(page, `self-certificate-${name === 'alice_sid' ? 'will-work' : 'will-fail'}`);
        }
        await ctx.close();
      }
      await audit(browser, opts, tbase + '/status', `the page for certificate ${name}`);
    }
    const none = await newContext(browser, { ignoreHTTPSErrors: true }, seen);
    const np = await none.newPage();
    await np.goto(tbase + '/status');
    check(!(await np.isVisible('#self-state')), 'no certificate presented: the upload page only');
    await none.close();

    // ---- 2. the trusted proxy's header, through nginx
    const plain = await startDaemon(['--page-trusted-proxies', '127.0.0.3']);
    procs.push(plain.proc);
    const ng = await startNginx(path.join(tmp, 'nginx'), pki, plain.port);
    procs.push(ng.proc);
    const opts = { ignoreHTTPSErrors: true, httpCredentials: { username: 'alice', password: 'alice-password' } };
    for (const js of [true, false]) {
      // the browser adds an X-Remote-User of its own: nginx replaces it with the signed-in user
      const ctx = await newContext(browser, { ...opts, javaScriptEnabled: js,
        extraHTTPHeaders: { 'X-Remote-User': 'gina' } }, seen);
      const page = await ctx.newPage();
      const r = await page.goto(ng.base + '/status');
      check(r.status() === 200, `through nginx, JS ${js ? 'on' : 'off'}: 200 (${r.status()})`);
      const who = (await page.textContent('.identity').catch(() => '')) || '';
      check(/For alice, as your organisation/.test(who), `through nginx: the page is alice's ("${who.trim()}")`);
      const h2 = ((await page.textContent('#self-state').catch(() => '')) || '').trim();
      check(h2 === 'Your account: At risk', `through nginx: alice's account at risk ("${h2}")`);
      await page.click('.self summary', { timeout: 5000 }).catch(() => {});
      check(/S-1-5-21-1004336348-1177238915-682003330-1105/.test(await page.textContent('.self dl')),
            "through nginx: the details for IT have alice's own SID");
      if (js) {
        await cspOf(page, seen);
        await shots(page, 'self-proxy-at-risk');
      }
      await ctx.close();
    }
    await audit(browser, opts, ng.base + '/status', 'the page through nginx');
    const unauth = await newContext(browser, { ignoreHTTPSErrors: true }, seen);
    const ur = await unauth.request.get(ng.base + '/status');
    check(ur.status() === 401 && !/S-1-5-21/.test(await ur.text()),
          `through nginx without signing in: ${ur.status()}`);
    await unauth.close();
    // the forgery, straight to strongmapd from 127.0.0.1 (not the trusted 127.0.0.3)
    const forged = await newContext(browser, { extraHTTPHeaders: { 'X-Remote-User': 'alice' } }, seen);
    const fp = await forged.newPage();
    const fr = await fp.goto(`http://127.0.0.1:${plain.port}/status`);
    const ftext = await fp.textContent('body');
    check(fr.status() === 400 && /not a trusted proxy/.test(ftext) && !/S-1-5-21|At risk/.test(ftext),
          `forged header past nginx: ${fr.status()}, refused without account data`);
    await shots(fp, 'self-forged-header');
    await forged.close();

    // ---- 3. lab mode: a typed name, labelled as such, with the keyboard only
    const lab = await startDaemon(['--page-lab-mode', 'yes']);
    procs.push(lab.proc);
    const lbase = `http://127.0.0.1:${lab.port}`;
    for (const js of [true, false]) {
      const ctx = await newContext(browser, { javaScriptEnabled: js }, seen);
      const page = await ctx.newPage();
      await page.goto(lbase + '/status');
      check(/Lab mode\./.test(await page.textContent('#lab .lab-note')), `lab mode, JS ${js ? 'on' : 'off'}: labelled above the field`);
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.id) === 'account', 'lab mode: Tab reaches the name first');
      await page.keyboard.type('gina');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      check(page.url() === lbase + '/status?account=gina', `lab mode: the form asks with GET (${page.url()})`);
      const who = (await page.textContent('.identity').catch(() => '')) || '';
      check(/^Lab mode: for the account name typed in, gina\. Nothing proves who asked\.$/.test(who.trim()),
            `lab mode: the answer says so ("${who.trim()}")`);
      const h2 = ((await page.textContent('#self-state').catch(() => '')) || '').trim();
      check(h2 === 'Your account: Will work', `lab mode: gina's account ("${h2}")`);
      check(await page.inputValue('#account') === 'gina', 'lab mode: the name stays in the field');
      if (js) {
        await cspOf(page, seen);
        await shots(page, 'self-lab-mode');
      }
      await ctx.close();
    }
    await audit(browser, {}, lbase + '/status?account=gina', 'the page in lab mode');
  } finally {
    if (browser) await browser.close();
    for (const p of procs) p.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const cspConsole = seen.console.filter((t) => /Content Security Policy/i.test(t));
  check(seen.csp.length === 0 && cspConsole.length === 0,
        `CSP violations: ${JSON.stringify(seen.csp.concat(cspConsole))}`);
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
