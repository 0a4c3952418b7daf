// tests/browser/test_page.js - the self-service status page in a real browser: Debian's
// Chromium driven by playwright-core, against strongmapd with the demo directory
// (examples/demo.ldif; examples/certs/VERDICTS.txt says what each certificate gets).
//
//   node test_page.js STRONGMAPD EXAMPLES_DIR ARTIFACTS_DIR     (run.sh sets NODE_PATH)
//
// Checks: with JavaScript, an allowed certificate shows "Will work" and a certificate without
// a SID "Will fail" with its plain reason, on the same page (the script's fetch, no
// navigation), and the copy button puts the helpdesk text on the clipboard; with JavaScript
// off, the form posts and the server's page gives the same answers; a garbage file is
// answered in words; the keyboard reaches the form; no Content-Security-Policy violation is
// reported (securitypolicyviolation events and console errors) and no request leaves the
// daemon's origin; the page's transfer stays within 50 KB; axe-core finds no serious or
// critical accessibility violation on the page and on both kinds of answer. Screenshots of each state, at
// desktop and phone widths, go to ARTIFACTS_DIR. And in German (a browser whose locale is
// de-DE sends Accept-Language: de-DE): the page, the script's answer and the server's answer
// in the shipped German catalogue, lang="de", with the same checks of axe-core.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [daemonPath, examples, artifacts] = process.argv.slice(2);
const BUDGET = 50 * 1024;
let failures = 0;

function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

function startDaemon() {
  return new Promise((resolve, reject) => {
    // --page-rate 0: the tier makes more checks in a few seconds than [page] burst allows a
    // person (tests/api/test_page.py checks that limit)
    const d = spawn(daemonPath, ['--allow-root', '--listen', '127.0.0.1:0', '--threads', '2',
      '--ldif', path.join(examples, 'demo.ldif'), '--page-rate', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('daemon did not start:\n' + log)), 10000);
    d.stderr.on('data', (b) => {
      log += b;
      const m = /listening on ([0-9.]+):(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: d, base: `http://${m[1]}:${m[2]}` });
      }
    });
    d.on('exit', (code) => reject(new Error(`daemon exited (${code}):\n` + log)));
  });
}

// A context that records CSP violations, console errors and every request's origin.
async function newContext(browser, base, opts, seen) {
  const ctx = await browser.newContext(opts);
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  ctx.on('request', (r) => {
    if (!r.url().startsWith(base + '/')) seen.foreign.push(r.url());
  });
  ctx.on('console', (m) => {
    if (m.type() === 'error') seen.console.push(m.text());
  });
  return ctx;
}

async function cspOf(page, seen) {
  const v = await page.evaluate(() => window.__csp || []).catch(() => []);
  seen.csp.push(...v);
}

async function shots(page, name) {
  for (const [w, h, tag] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: path.join(artifacts, `${name}-${tag}.png`), fullPage: true });
  }
}

async function main() {
  const { proc, base } = await startDaemon();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const seen = { csp: [], console: [], foreign: [] };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strongmap-browser-'));
  const garbage = path.join(tmp, 'garbage.cer');
  fs.writeFileSync(garbage, 'this is not a certificate\n');
  const cert = (n) => path.join(examples, 'certs', n);
  try {
    // ---- JavaScript on
    const ctx = await newContext(browser, base, { javaScriptEnabled: true }, seen);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await ctx.newPage();
    await page.goto(base + '/status', { waitUntil: 'networkidle' });
    // the page and its files as transferred: headers and bodies (Resource Timing)
    const sizes = await page.evaluate(() => performance.getEntriesByType('navigation')
      .concat(performance.getEntriesByType('resource'))
      .map((e) => [e.name, e.transferSize, e.decodedBodySize]));
    const bytes = sizes.reduce((n, s) => n + s[1], 0);
    // (Chromium asks for /favicon.ico too: a 404 problem document, counted)
    const files = ['/status', '/static/status.css', '/static/status.js'];
    check(files.every((f) => sizes.some((s) => s[0] === base + f && s[1] > s[2])) &&
          bytes <= BUDGET,
          `page transfer ${bytes} bytes <= ${BUDGET}: ${JSON.stringify(sizes)}`);
    check((await page.getAttribute('html', 'lang')) === 'en', 'lang="en"');
    await shots(page, 'empty');

    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement && document.activeElement.id) ===
          'certificate', 'Tab reaches the file input first');
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement.type) === 'submit',
          'Tab then reaches the check button');

    await page.setInputFiles('#certificate', cert('alice-sid.pem'));
    await page.click('button[type=submit]');
    await page.waitForSelector('#answer h2');
    check((await page.textContent('#answer h2')) === 'Result: Will work', 'JS: allowed certificate -> Will work');
    check(page.url() === base + '/status', 'JS: answered in place (fetch, no navigation)');
    await shots(page, 'will-work');

    await page.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await page.click('button[type=submit]');
    await page.waitForFunction(() => {
      const h = document.querySelector('#answer h2');
      return h && h.textContent === 'Result: Will fail';
    });
    const why = await page.textContent('#answer .why');
    check(/does not carry the account identifier/.test(why), `JS: weak certificate -> Will fail: "${why}"`);
    check(!/X509|altSecurityIdentities|KDC_ERR/.test(why), 'JS: no jargon in the reason');
    check(!(await page.isVisible('#answer details dl')), 'JS: details for IT closed at first');
    await shots(page, 'will-fail');
    const text = await page.inputValue('#helpdesk');
    await page.click('button.copy');
    await page.waitForSelector('.copied:text("Copied.")', { timeout: 3000 }).catch(() => {});
    const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => 'error: ' + e);
    check(clip === text && /Result: Will fail/.test(clip), 'JS: the copy button puts the helpdesk text on the clipboard');

    await page.setInputFiles('#certificate', garbage);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => {
      const h = document.querySelector('#answer h2');
      return h && h.textContent === 'This file could not be checked';
    });
    check(true, 'JS: a garbage file is answered in words');
    await cspOf(page, seen);
    await ctx.close();

    // ---- JavaScript off: the form posts, the server answers a page
    const off = await newContext(browser, base, { javaScriptEnabled: false }, seen);
    const p2 = await off.newPage();
    await p2.goto(base + '/status');
    for (const [file, state, re] of [['alice-sid.pem', 'Will work', /will work/],
      ['alice-no-sid.pem', 'Will fail', /does not carry the account identifier/]]) {
      await p2.setInputFiles('#certificate', cert(file));
      await Promise.all([p2.waitForNavigation(), p2.click('button[type=submit]')]);
      const h2 = (await p2.textContent('h2')).trim();
      check(p2.url() === base + '/status/check' && h2 === 'Result: ' + state,
            `no JS: ${file} -> "${h2}" from the server's page`);
      check(re.test(await p2.textContent('.why')), `no JS: ${file}: the reason in words`);
      check(!(await p2.isVisible('button.copy')), 'no JS: no copy button that could not work');
      await shots(p2, `nojs-${state.toLowerCase().replace(' ', '-')}`);
      await p2.goto(base + '/status');
    }
    await off.close();

    // ---- the server's page with JavaScript on: the copy button appears, no violation
    const ctx3 = await newContext(browser, base, { javaScriptEnabled: true }, seen);
    const p3 = await ctx3.newPage();
    await p3.goto(base + '/status');
    await p3.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    // form.submit() posts without a submit event: the script does not take it over
    await Promise.all([p3.waitForNavigation(),
      p3.evaluate(() => document.getElementById('check').submit())]);
    check(await p3.isVisible('button.copy'), 'server page + JS: the copy button is shown');
    await cspOf(p3, seen);
    await ctx3.close();

    // ---- axe-core in the page: no serious or critical violation. Its own context, the one
    // that bypasses the CSP, since axe is injected as a script the policy rightly refuses.
    const ax = await browser.newContext({ javaScriptEnabled: true, bypassCSP: true });
    const p4 = await ax.newPage();
    const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const audit = async (what) => {
      await p4.addScriptTag({ content: axeSource });
      const res = await p4.evaluate(() => window.axe.run());
      const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      const all = res.violations.map((v) => `${v.id} (${v.impact})`);
      check(bad.length === 0, `axe-core on ${what}: no serious or critical violation ` +
            `(all: ${JSON.stringify(all)})`);
    };
    await p4.goto(base + '/status');
    await audit('the empty page');
    await p4.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await p4.click('button[type=submit]');
    await p4.waitForSelector('#answer h2');
    await audit('the answer shown by the script');
    await p4.setInputFiles('#certificate', cert('alice-sid.pem'));
    await Promise.all([p4.waitForNavigation(),
      p4.evaluate(() => document.getElementById('check').submit())]);
    await audit("the server's answer page");
    await ax.close();

    // ---- German: the browser's locale picks the shipped catalogue (web/messages/de.json)
    const de = JSON.parse(fs.readFileSync(path.join(examples, '..', 'web', 'messages', 'de.json'), 'utf8'));
    const ctxDe = await newContext(browser, base, { javaScriptEnabled: true, locale: 'de-DE' }, seen);
    const p5 = await ctxDe.newPage();
    await p5.goto(base + '/status', { waitUntil: 'networkidle' });
    check((await p5.getAttribute('html', 'lang')) === 'de', 'de: lang="de"');
    check((await p5.textContent('h1')) === de['page.title'], 'de: the heading in German');
    check((await p5.textContent('button[type=submit]')) === de['page.check'], 'de: the button in German');
    await shots(p5, 'de-empty');
    await p5.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await p5.click('button[type=submit]');
    await p5.waitForSelector('#answer h2');
    const hDe = await p5.textContent('#answer h2');
    check(hDe === de['answer.result_sr'] + ' ' + de['state.will_fail'], `de: the script's answer "${hDe}"`);
    check((await p5.textContent('#answer summary')) === de['details.summary'], 'de: details for IT');
    check(/Ergebnis: Funktioniert nicht \(will_fail\)/.test(await p5.inputValue('#helpdesk')),
          'de: the helpdesk text in German');
    await shots(p5, 'de-will-fail');
    await p5.setInputFiles('#certificate', garbage);
    await p5.click('button[type=submit]');
    await p5.waitForFunction((t) => {
      const h = document.querySelector('#answer h2');
      return h && h.textContent === t;
    }, de['problem.file_title']);
    check((await p5.textContent('#answer .why')) === de['problem.bad_file'], 'de: a garbage file in German words');
    await cspOf(p5, seen);
    await ctxDe.close();
    const axDe = await browser.newContext({ javaScriptEnabled: true, bypassCSP: true, locale: 'de-DE' });
    const p6 = await axDe.newPage();
    const auditDe = async (what) => {
      await p6.addScriptTag({ content: axeSource });
      const res = await p6.evaluate(() => window.axe.run());
      const all = res.violations.map((v) => `${v.id} (${v.impact})`);
      check(res.violations.every((v) => v.impact !== 'serious' && v.impact !== 'critical'),
            `axe-core on ${what}: no serious or critical violation (all: ${JSON.stringify(all)})`);
    };
    await p6.goto(base + '/status');
    await auditDe('the German page');
    await p6.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await p6.click('button[type=submit]');
    await p6.waitForSelector('#answer h2');
    await auditDe("the German answer shown by the script");
    await p6.setInputFiles('#certificate', cert('alice-sid.pem'));
    await Promise.all([p6.waitForNavigation(),
      p6.evaluate(() => document.getElementById('check').submit())]);
    check((await p6.getAttribute('html', 'lang')) === 'de', "de: the server's answer page in German");
    await auditDe("the server's German answer page");
    await axDe.close();
  } finally {
    await browser.close();
    proc.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const cspConsole = seen.console.filter((t) => /Content Security Policy/i.test(t));
  check(seen.csp.length === 0 && cspConsole.length === 0,
        `CSP violations: ${JSON.stringify(seen.csp.concat(cspConsole))}`);
  check(seen.foreign.length === 0, `requests to other origins: ${JSON.stringify(seen.foreign)}`);
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
