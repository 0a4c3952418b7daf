// tests/browser/test_audit_report.js - strongmap audit's HTML report (docs/audit.md) opened from
// disk in Debian's Chromium, offline, driven by playwright-core.
//
//   node test_audit_report.js STRONGMAP EXAMPLES_DIR ARTIFACTS_DIR     (run.sh sets NODE_PATH)
//
// The report of examples/demo.ldif with hostile accounts added (a name that is a script, a DN
// with markup, quotes and an ampersand, non-ASCII, invalid UTF-8). Checks: the file's own
// Content-Security-Policy lets its style and script run (the controls the script shows, the
// style's colours) and nothing else: no violation, no console error, no page error, no dialog,
// no request but the file; the hostile names are text; sorting with the keyboard (Enter on a
// column's button: aria-sort, the rows' order, text and numbers, both ways); filtering by text
// and by status (the count said, the rows shown); axe-core finds no serious or critical
// violation; a copy cut short says so. Screenshots at desktop and phone widths in ARTIFACTS_DIR.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [cli, examples, artifacts] = process.argv.slice(2);
let failures = 0;

function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

const b64 = (s) => Buffer.from(s).toString('base64');
const HOSTILE_SAM = '<script>alert("x")</script>';

function hostileLdif(dir) {
  const demo = fs.readFileSync(path.join(examples, 'demo.ldif'), 'utf8').trimEnd();
  const value = 'X509:<I>DC=com,DC=example,CN=</td><script>alert(2)</script><SR>0102';
  const text = demo + '\n\n' +
    `dn:: ${b64("CN=\\<img src=x onerror=alert(1)\\>\\, \\\"q\\\" & 'ü',CN=Users,DC=example,DC=com")}\n` +
    `objectClass: user\nsAMAccountName:: ${b64(HOSTILE_SAM)}\n` +
    `altSecurityIdentities:: ${b64(value)}\n\n` +
    `dn: CN=nihon,CN=Users,DC=example,DC=com\nobjectClass: user\n` +
    `sAMAccountName:: ${b64('日本語 ü')}\naltSecurityIdentities:: ${b64(value.toLowerCase())}\n\n` +
    `dn: CN=bytes,CN=Users,DC=example,DC=com\nobjectClass: user\n` +
    `sAMAccountName:: ${Buffer.from([0x62, 0xff, 0x01, 0x65]).toString('base64')}\n` +
    'altSecurityIdentities: X509:<SKI>0A0B0C\n';
  const file = path.join(dir, 'hostile.ldif');
  fs.writeFileSync(file, text);
  return file;
}

async function rowsText(page, col) {
  return page.$$eval('#accounts-table tbody tr:not([hidden])',
    (rows, i) => rows.map((r) => r.cells[i].textContent), col);
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-audit-report-'));
  const report = path.join(tmp, 'report.html');
  fs.writeFileSync(report, execFileSync(cli, ['audit', '--ldif', hostileLdif(tmp), '--at',
    '2026-06-01T00:00:00Z', '--progress', '0', '--format', 'html']));
  const html = fs.readFileSync(report, 'utf8');
  const cut = path.join(tmp, 'cut.html');
  fs.writeFileSync(cut, html.slice(0, html.indexOf('</tbody>')));
  const url = 'file://' + report;

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const seen = { csp: [], console: [], errors: [], requests: [], dialogs: [] };
  try {
    const ctx = await browser.newContext({ offline: true });
    await ctx.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    ctx.on('request', (r) => seen.requests.push(r.url()));
    const page = await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
    page.on('pageerror', (e) => seen.errors.push(String(e)));
    page.on('dialog', async (d) => { seen.dialogs.push(d.message()); await d.dismiss(); });
    await page.goto(url);

    // the policy lets the report's own script and style run
    check(await page.isVisible('#controls'), 'the script ran: the controls are shown');
    const bg = await page.$eval('.st.ready', (e) => getComputedStyle(e).backgroundColor);
    check(bg === 'rgb(27, 127, 59)', `the style applies (a ready badge's colour: ${bg})`);
    check(!(await page.isVisible('.cut')), 'a whole file does not say it is cut short');
    const total = Number(await page.textContent('dd[data-k=accounts]'));
    const rows = await page.$$eval('#accounts-table tbody tr', (r) => r.length);
    check(rows === total && rows > 6, `a row per account (${rows} of ${total})`);
    check(await page.$$eval('svg[role=img]', (s) => s.length) === 5, 'five charts');

    // hostile names are text
    const names = await rowsText(page, 0);
    check(names.includes(HOSTILE_SAM), 'a name that is a script shows as text');
    check(names.includes('日本語 ü') && names.includes('b\ufffd\ufffde'),
          'non-ASCII shows, invalid UTF-8 and a control as U+FFFD');
    check(await page.$$eval('img', (i) => i.length) === 0, 'no img element made of a DN');

    // sorting with the keyboard: the Account column, then Values (numbers)
    const buttons = await page.$$('#accounts-table thead th button');
    check(buttons.length === 10, 'a sort button in each column header');
    await buttons[0].focus();
    await page.keyboard.press('Enter');
    let got = (await rowsText(page, 0)).map((s) => s.toLowerCase());
    let want = [...got].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    check(JSON.stringify(got) === JSON.stringify(want), 'Enter sorts by account, ascending');
    check(await page.getAttribute('#accounts-table thead th:nth-child(1)', 'aria-sort') ===
          'ascending', 'aria-sort says ascending');
    await page.keyboard.press('Enter');
    got = (await rowsText(page, 0)).map((s) => s.toLowerCase());
    check(JSON.stringify(got) === JSON.stringify([...want].reverse()), 'again: descending');
    check(await page.getAttribute('#accounts-table thead th:nth-child(1)', 'aria-sort') ===
          'descending', 'aria-sort says descending');
    await page.keyboard.press('Tab'); // the keyboard moves on to the next column's button
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab'); // Values (the seventh column)
    await page.keyboard.press('Enter');
    const values = (await rowsText(page, 6)).map(Number);
    check(values.every((v, i) => i === 0 || values[i - 1] <= v) && values.some((v) => v > 1),
          `Tab reaches the Values column; sorted as numbers (${values.join(',')})`);
    check(await page.getAttribute('#accounts-table thead th:nth-child(1)', 'aria-sort') === null,
          'only the sorted column has aria-sort');

    // filtering: by text, by status
    await page.fill('#filter', 'mallory');
    check(JSON.stringify(await rowsText(page, 0)) === '["mallory"]', 'the filter keeps mallory');
    check((await page.textContent('#shown')) === `1 of ${rows} accounts shown`,
          'the count shown is said');
    await page.fill('#filter', '');
    await page.selectOption('#status', 'ready');
    const ready = Number(await page.textContent('dd[data-k=ready]'));
    const statuses = await page.$$eval('#accounts-table tbody tr:not([hidden])',
      (r) => r.map((x) => x.getAttribute('data-status')));
    check(statuses.length === ready && statuses.every((s) => s === 'ready'),
          `status ready: the ${ready} ready accounts`);
    await page.selectOption('#status', '');

    for (const [w, h, tag] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
      await page.setViewportSize({ width: w, height: h });
      await page.screenshot({ path: path.join(artifacts, `audit-report-${tag}.png`), fullPage: true });
    }
    seen.csp.push(...await page.evaluate(() => window.__csp));

    // a copy cut short (a process killed while writing) says so
    const p2 = await ctx.newPage();
    await p2.goto('file://' + cut);
    check(await p2.isVisible('.cut'), 'a file cut short says so');
    seen.csp.push(...await p2.evaluate(() => window.__csp));
    await ctx.close();

    // axe-core, in a context that lets its script in
    const ax = await browser.newContext({ bypassCSP: true, offline: true });
    const p3 = await ax.newPage();
    await p3.goto(url);
    await p3.addScriptTag({ content: fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
    const res = await p3.evaluate(() => window.axe.run());
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    check(bad.length === 0, 'axe-core: no serious or critical violation (all: ' +
          JSON.stringify(res.violations.map((v) => `${v.id} (${v.impact})`)) + ')');
    await ax.close();
  } finally {
    await browser.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  check(seen.csp.length === 0, `no CSP violation: ${JSON.stringify(seen.csp)}`);
  check(seen.console.length === 0, `no console error: ${JSON.stringify(seen.console)}`);
  check(seen.errors.length === 0, `no page error: ${JSON.stringify(seen.errors)}`);
  check(seen.dialogs.length === 0, `no dialog: ${JSON.stringify(seen.dialogs)}`);
  const foreign = seen.requests.filter((u) => u !== url && u !== 'file://' + cut);
  check(foreign.length === 0, `no request but the file: ${JSON.stringify(foreign)}`);
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
