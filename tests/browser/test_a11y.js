// tests/browser/test_a11y.js - what a screen reader would be given by the status page, read from
// Chromium's own accessibility tree (the Chrome DevTools Protocol's Accessibility.getFullAXTree:
// the roles, names, levels and live-region properties Chromium hands to the platform's
// accessibility API), with Debian's Chromium driven by playwright-core as in test_page.js.
// No screen reader runs here (no NVDA, JAWS, VoiceOver or Orca): what one would say is
// inferred from that tree and from what changes in it (docs/self-service.md, "Accessibility").
//
//   node test_a11y.js STRONGMAPD EXAMPLES_DIR ARTIFACTS_DIR     (run.sh sets NODE_PATH)
//
// In each state of the page (empty, an answer with JavaScript, a problem with JavaScript, the
// server's answer and problem pages without JavaScript, lab mode's page for an account, German):
//   - <html lang> is the answer's Content-Language;
//   - every control (focusable, or a role a person operates) has an accessible name;
//   - the headings form an outline: one level 1, first, and no level skipped going down;
//   - the state is said in text: the result heading's name holds the state's words, which are
//     visible (not only the answer's colour), and so does the page's title;
// and after a check with JavaScript on, made with the keyboard only:
//   - the result heading is in exactly one polite live region, which holds the state and the
//     reason only (no list, control or helpdesk text to read out);
//   - the state is announced once: live-region insertions and focus moves that carry the state's
//     words, counted from the page's DOM mutations and focus events, add up to one;
//   - focus stays on the button pressed and the result is what comes next: the next heading in
//     the tree's reading order is the result's, and Tab goes into the answer;
//   - the helpdesk text box and the copy button have names, and the copy confirmation is in a
//     live region (role status), announced again at a second copy.
// The outline of each state (roles, names, levels, live regions) is written to
// ARTIFACTS_DIR/a11y-*.txt for a person to read.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [daemonPath, examples, artifacts] = process.argv.slice(2);
let failures = 0;

function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

const LINKS = [['Company Portal', 'https://portal.manage.microsoft.com/'],
  ['Re-enrol your VPN certificate', 'https://it.example.com/vpn']];

function startDaemon() {
  return new Promise((resolve, reject) => {
    const args = ['--allow-root', '--listen', '127.0.0.1:0', '--threads', '2',
      '--ldif', path.join(examples, 'demo.ldif'), '--page-rate', '0', '--page-lab-mode', 'yes',
      '--page-organisation', 'Example Corp', '--page-helpdesk', 'helpdesk@example.com'];
    for (const [t, u] of LINKS) args.push('--page-link', `${t} | ${u}`);
    const d = spawn(daemonPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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

// What the page says out loud, as far as the DOM tells: each insertion of text into a live
// region (aria-live other than off, or a role that implies it) and each focus move, in order.
function recordAnnouncements() {
  window.__said = [];
  const LIVE = '[aria-live]:not([aria-live="off"]),[role="status"],[role="alert"],[role="log"]';
  const liveOf = (n) => {
    const e = n && (n.nodeType === 1 ? n : n.parentElement);
    return e && e.closest(LIVE);
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      const region = liveOf(m.target);
      if (!region) continue;
      let text = '';
      if (m.type === 'childList') m.addedNodes.forEach((n) => { text += n.textContent; });
      else if (m.type === 'characterData') text = m.target.data;
      text = text.replace(/\s+/g, ' ').trim();
      if (text) window.__said.push({ how: 'live', where: region.id || region.className, text });
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  document.addEventListener('focusin', (e) => {
    const t = e.target;
    window.__said.push({ how: 'focus', where: t.id || t.tagName,
      text: (t.textContent || '').replace(/\s+/g, ' ').trim() });
  });
}

// Chromium's accessibility tree of @page: its nodes in reading order (depth first, ignored
// nodes passed through), each { id, role, name, props, parent, depth }.
async function axTree(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const root = nodes.find((n) => !n.parentId) || nodes[0];
  const order = [];
  const walk = (n, parent, depth) => {
    let me = parent;
    if (!n.ignored) {
      const props = {};
      for (const p of n.properties || []) props[p.name] = p.value && p.value.value;
      me = { id: n.nodeId, role: n.role && n.role.value, name: (n.name && n.name.value) || '',
        props, parent, depth };
      order.push(me);
    }
    for (const c of n.childIds || []) if (byId.has(c)) walk(byId.get(c), me, me ? me.depth + 1 : 0);
  };
  walk(root, null, 0);
  return order;
}

const CONTROLS = new Set(['button', 'link', 'textbox', 'searchbox', 'checkbox', 'radio',
  'combobox', 'listbox', 'slider', 'spinbutton', 'switch', 'tab', 'menuitem',
  'DisclosureTriangle']);

function liveRegions(node) {
  const out = [];
  for (let n = node; n; n = n.parent)
    if (n.props.live === 'polite' || n.props.live === 'assertive') out.push(n);
  return out;
}

// The nodes under @node, in reading order.
function subtree(order, node) {
  const out = [];
  for (let k = order.indexOf(node) + 1; k < order.length && order[k].depth > node.depth; k++)
    out.push(order[k]);
  return out;
}

// The text under @node: its StaticText descendants, in order.
function textOf(order, node) {
  return subtree(order, node).filter((n) => n.role === 'StaticText').map((n) => n.name)
    .join(' ').replace(/\s+/g, ' ').trim();
}

function dump(order, file) {
  const lines = order.filter((n) => !['InlineTextBox', 'LineBreak', 'ListMarker'].includes(n.role))
    .map((n) => '  '.repeat(n.depth) + n.role + (n.name ? ` "${n.name}"` : '') +
      (n.props.level ? ` level=${n.props.level}` : '') +
      (n.props.live ? ` live=${n.props.live} atomic=${n.props.atomic}` : '') +
      (n.props.focused ? ' FOCUSED' : ''));
  fs.writeFileSync(path.join(artifacts, `a11y-${file}.txt`), lines.join('\n') + '\n');
}

// The checks every state of the page gets: lang, names, outline; @what names the state.
async function common(page, what, lang) {
  const order = await axTree(page);
  dump(order, what.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase());
  check((await page.getAttribute('html', 'lang')) === lang, `${what}: <html lang="${lang}">`);
  const nameless = order.filter((n) => (CONTROLS.has(n.role) || n.props.focusable) &&
    n.role !== 'RootWebArea' && !n.name.trim());
  check(nameless.length === 0, `${what}: every control has an accessible name` +
    (nameless.length ? ` (not: ${nameless.map((n) => n.role).join(', ')})` : ''));
  const heads = order.filter((n) => n.role === 'heading')
    .map((n) => ({ level: Number(n.props.level), name: n.name }));
  let outline = heads.length > 0 && heads[0].level === 1 &&
    heads.filter((h) => h.level === 1).length === 1 && heads.every((h) => h.name.trim());
  for (let i = 1; i < heads.length; i++) if (heads[i].level > heads[i - 1].level + 1) outline = false;
  check(outline, `${what}: the headings form an outline: ` +
    heads.map((h) => `h${h.level} "${h.name}"`).join(', '));
  return order;
}

// The result heading of @order (the answer's h2 whose name holds @label), and the state said in
// words that are visible.
async function stateInText(page, order, what, label, selector) {
  const h = order.find((n) => n.role === 'heading' && n.props.level === 2 && n.name.includes(label));
  check(!!h, `${what}: the result heading says the state in words ("${h ? h.name : '?'}")`);
  const visible = await page.evaluate(([sel, l]) => {
    const e = document.querySelector(sel);
    return !!e && e.innerText.includes(l) && e.getBoundingClientRect().width > 0;
  }, [selector, label]);
  check(visible, `${what}: "${label}" is visible text, not only the answer's colour`);
  return h;
}

async function main() {
  const { proc, base } = await startDaemon();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strongmap-a11y-'));
  const garbage = path.join(tmp, 'garbage.cer');
  fs.writeFileSync(garbage, 'this is not a certificate\n');
  const cert = (n) => path.join(examples, 'certs', n);
  try {
    // ---- JavaScript on: the empty page, then checks made with the keyboard only
    const ctx = await browser.newContext({ javaScriptEnabled: true });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await ctx.addInitScript(recordAnnouncements);
    const page = await ctx.newPage();
    await page.goto(base + '/status', { waitUntil: 'networkidle' });
    let order = await common(page, 'empty page', 'en');
    check(order.some((n) => n.role === 'heading' && n.name === 'Need help?') &&
          order.some((n) => n.role === 'link' && n.name === LINKS[0][0]),
    'empty page: the organisation\'s help, its links named by their titles');

    const checkWith = async (file, label, what) => {
      await page.evaluate(() => { window.__said = []; });
      await page.focus('#certificate');
      await page.setInputFiles('#certificate', file);
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.type === 'submit'),
        `${what}: Tab from the file reaches the check button`);
      await page.keyboard.press('Enter');
      await page.waitForFunction((l) => {
        const h = document.querySelector('#answer h2');
        return h && h.textContent.includes(l);
      }, label);
      await page.waitForTimeout(200); // any focus move or late insertion
      order = await common(page, what, 'en');
      const h = await stateInText(page, order, what, label, '#answer h2');
      if (!h) return;
      check((await page.title()).startsWith(label + ' - '),
        `${what}: the page's title says the state ("${await page.title()}")`);
      const lives = liveRegions(h);
      check(lives.length === 1 && lives[0].props.live === 'polite',
        `${what}: the result is in one polite live region (${lives.length})`);
      if (lives.length === 1) {
        const region = lives[0];
        const extra = subtree(order, region).filter((n) => CONTROLS.has(n.role) || n.role === 'list' ||
          n.role === 'textbox' || n.role === 'group');
        check(extra.length === 0 && textOf(order, region).length < 400,
          `${what}: the live region holds the state and its reason only: ` +
          `"${textOf(order, region).slice(0, 160)}"` +
          (extra.length ? ` (also ${extra.map((n) => n.role).join(', ')})` : ''));
      }
      const said = await page.evaluate(() => window.__said);
      const times = said.filter((s) => s.text.includes(label));
      check(times.length === 1, `${what}: the state is announced once: ` + JSON.stringify(said));
      const focused = order.find((n) => n.props.focused && n.role !== 'RootWebArea');
      check(!!focused && ((focused.role === 'button' && focused.name === 'Check my certificate') ||
        focused === h), `${what}: focus on the button pressed, or on the result ` +
        `(${focused ? focused.role + ' "' + focused.name + '"' : 'none'})`);
      if (focused && focused !== h) {
        const after = order.slice(order.indexOf(focused) + 1);
        const next = after.find((n) => n.role === 'heading');
        check(next === h, `${what}: the next heading after the focus is the result ` +
          `("${next ? next.name : '?'}")`);
        await page.keyboard.press('Tab');
        check(await page.evaluate(() => !!document.activeElement.closest('#answer')),
          `${what}: Tab from there goes into the answer`);
        await page.focus('#check button[type=submit]');
      }
      return order;
    };

    order = await checkWith(cert('alice-sid.pem'), 'Will work', 'JS answer (will work)');
    order = await checkWith(cert('alice-no-sid.pem'), 'Will fail', 'JS answer (will fail)');
    if (order) {
      check(!order.some((n) => n.role === 'heading' && n.name === 'Need help?') &&
            order.filter((n) => n.role === 'link' && n.name === LINKS[0][0]).length === 1,
      'JS answer: the links once, in the answer (the page\'s own section hidden)');
      const box = order.find((n) => n.role === 'textbox' && n.props.multiline);
      check(!!box && /helpdesk/i.test(box.name), `JS answer: the helpdesk text box is labelled ("${box ? box.name : '?'}")`);
      const copy = order.find((n) => n.role === 'button' && /copy/i.test(n.name));
      check(!!copy, 'JS answer: the copy button has a name');
      // the confirmation: in a live region, said at each copy
      await page.evaluate(() => { window.__said = []; });
      for (let i = 0; i < 2; i++) {
        await page.focus('button.copy');
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => /Copied/.test(document.querySelector('.copied').textContent));
        await page.waitForTimeout(100);
      }
      order = await axTree(page);
      const status = order.find((n) => textOf(order, n) === 'Copied.' && liveRegions(n).length > 0);
      check(!!status, `JS answer: the copy confirmation is in a live region (${status ? status.role : 'none'})`);
      const said = await page.evaluate(() => window.__said.filter((s) => s.how === 'live'));
      check(said.filter((s) => s.text === 'Copied.').length === 2,
        `JS answer: each copy is announced: ${JSON.stringify(said)}`);
    }
    // a problem: said in the same live region, once; the page's help back
    await page.evaluate(() => { window.__said = []; });
    await page.setInputFiles('#certificate', garbage);
    await page.focus('#check button[type=submit]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const h = document.querySelector('#answer h2');
      return h && h.textContent === 'This file could not be checked';
    }, null, { timeout: 5000 }).catch(async (e) => {
      console.log(await page.evaluate(() => JSON.stringify([window.__said, document.getElementById('answer').innerText.slice(0, 300), document.activeElement.outerHTML.slice(0, 100)])));
      throw e;
    });
    await page.waitForTimeout(200);
    order = await common(page, 'JS problem', 'en');
    const ph = order.find((n) => n.role === 'heading' && n.name === 'This file could not be checked');
    check(!!ph && liveRegions(ph).length === 1, 'JS problem: the problem is in the live region');
    const saidP = await page.evaluate(() => window.__said);
    check(saidP.filter((s) => s.text.includes('This file could not be checked')).length === 1,
      `JS problem: announced once: ${JSON.stringify(saidP)}`);
    check(order.some((n) => n.role === 'heading' && n.name === 'Need help?'),
      'JS problem: the page\'s help is shown again');
    await ctx.close();

    // ---- JavaScript off: the server's answer and problem pages
    const off = await browser.newContext({ javaScriptEnabled: false });
    const p2 = await off.newPage();
    await p2.goto(base + '/status');
    await common(p2, 'no JS: empty page', 'en');
    await p2.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await Promise.all([p2.waitForNavigation(), p2.click('#check button[type=submit]')]);
    order = await common(p2, 'no JS: answer page', 'en');
    await stateInText(p2, order, 'no JS: answer page', 'Will fail', 'h2');
    check(order.filter((n) => n.role === 'link' && n.name === LINKS[1][0]).length === 1,
      'no JS: answer page: the links once');
    check((await p2.title()).startsWith('Will fail'), 'no JS: answer page: the title says the state');
    await p2.goto(base + '/status');
    await p2.setInputFiles('#certificate', garbage);
    await Promise.all([p2.waitForNavigation(), p2.click('#check button[type=submit]')]);
    order = await common(p2, 'no JS: problem page', 'en');
    check(order.some((n) => n.role === 'heading' && n.name === 'Need help?'),
      'no JS: problem page: the organisation\'s help');
    // lab mode's page for an account, by the server
    await p2.goto(base + '/status?account=alice');
    order = await common(p2, 'no JS: lab mode page', 'en');
    const sh = await stateInText(p2, order, 'no JS: lab mode page', 'At risk', '#self-state');
    if (sh) {
      const next = order.slice(order.indexOf(sh) + 1).find((n) => n.role === 'StaticText' &&
        !subtree(order, sh).includes(n));
      let para = next;
      while (para && para.role !== 'paragraph') para = para.parent;
      const said = para ? textOf(order, para) : '';
      check(/for the account name typed in, alice/.test(said),
        `no JS: lab mode page: whose answer it is follows its heading ("${said}")`);
    }
    check(order.some((n) => n.role === 'textbox' && n.name === 'Account name'),
      'no JS: lab mode page: the account field is labelled');
    await off.close();

    // ---- the server's answer with JavaScript: its copy confirmation is live from the start
    const on = await browser.newContext({ javaScriptEnabled: true });
    await on.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await on.addInitScript(recordAnnouncements);
    const p3 = await on.newPage();
    await p3.goto(base + '/status?account=alice');
    await p3.evaluate(() => { window.__said = []; });
    await p3.focus('button.copy');
    await p3.keyboard.press('Enter');
    await p3.waitForFunction(() => /Copied/.test(document.querySelector('.copied').textContent));
    order = await common(p3, 'lab mode page with JS', 'en');
    const said3 = await p3.evaluate(() => window.__said.filter((s) => s.how === 'live'));
    check(said3.some((s) => s.text === 'Copied.'), `lab mode page with JS: the copy is announced: ${JSON.stringify(said3)}`);
    await on.close();

    // ---- German
    const de = JSON.parse(fs.readFileSync(path.join(examples, '..', 'web', 'messages', 'de.json'), 'utf8'));
    const ctxDe = await browser.newContext({ javaScriptEnabled: true, locale: 'de-DE' });
    const p4 = await ctxDe.newPage();
    await p4.goto(base + '/status');
    await common(p4, 'de: empty page', 'de');
    await p4.setInputFiles('#certificate', cert('alice-no-sid.pem'));
    await p4.click('#check button[type=submit]');
    await p4.waitForSelector('#answer h2');
    order = await common(p4, 'de: JS answer', 'de');
    await stateInText(p4, order, 'de: JS answer', de['state.will_fail'], '#answer h2');
    await ctxDe.close();

    // ---- axe-core's rules on the states with the organisation's help (test_page.js runs them
    // without it), in a context that bypasses the CSP to inject it; screenshots of them
    const ax = await browser.newContext({ javaScriptEnabled: true, bypassCSP: true });
    const p5 = await ax.newPage();
    const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const audit = async (what, shot) => {
      await p5.addScriptTag({ content: axeSource });
      const res = await p5.evaluate(() => window.axe.run());
      check(res.violations.length === 0, `axe-core on ${what}: no violation of any impact ` +
        `(${JSON.stringify(res.violations.map((v) => `${v.id} (${v.impact})`))})`);
      for (const [w, hgt, tag] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
        await p5.setViewportSize({ width: w, height: hgt });
        await p5.screenshot({ path: path.join(artifacts, `help-${shot}-${tag}.png`), fullPage: true });
      }
    };
    await p5.goto(base + '/status');
    await audit('the empty page with the organisation\'s help', 'empty');
    await p5.setInputFiles('#check input[type=file]', cert('alice-no-sid.pem'));
    await p5.click('#check button[type=submit]');
    await p5.waitForSelector('#answer h2');
    await audit('the script\'s answer with the links', 'will-fail');
    await p5.setInputFiles('#check input[type=file]', garbage);
    await Promise.all([p5.waitForNavigation(),
      p5.evaluate(() => document.getElementById('check').submit())]);
    await audit('the server\'s problem page with the help', 'problem');
    await ax.close();
  } finally {
    await browser.close();
    proc.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
