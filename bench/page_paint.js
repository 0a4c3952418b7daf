// bench/page_paint.js - the status page's first paint in Debian's Chromium, driven by
// playwright-core (installed by bench/run.py from tests/browser's package-lock.json; no browser
// is downloaded), for the `page` part of bench/run.py. A benchmark, not a test.
//
//   node page_paint.js SPEC_JSON      (NODE_PATH: the node_modules playwright-core is in)
//
// SPEC_JSON: {"servers": [[NAME, URL], ...], "loads": N, "warmup": N, "rounds": N,
//             "files": [PATH, ...], "budget_s": S}
// Each load is a fresh browser context (its own network context: no HTTP cache, no kept
// connection) opening URL; the figure is the Paint Timing API's first-paint and
// first-contentful-paint (performance.getEntriesByType('paint'), ms since the navigation
// began). A round is N loads of each server, interleaved load by load (the first server, the
// second, ..., the first again: a load takes about half a second, and a busy machine's load
// moves within the seconds a round takes), then the next round. Every load must ask for
// exactly FILES (paths of the server's origin) and get 200 for each; anything else ends the run
// (the servers would not be compared on the same work). Prints one line of JSON: each
// server's loads per round (first-paint, first-contentful-paint; from Resource Timing, when
// the last of the files was in and the sum over the files of the time from asking for each to
// having it), and the files' sizes.
'use strict';
const { chromium } = require('playwright-core');

const spec = JSON.parse(process.argv[2] || '{}');
const budget = setTimeout(() => {
  console.error(`page_paint: not done within ${spec.budget_s} s`);
  process.exit(2); // playwright-core kills the browser's process group on exit
}, (spec.budget_s || 300) * 1000);

// The paint entries of the page, waited for (bounded): headless Chromium records them when the
// first frame with content is presented, which may come after the load event.
function paints() {
  return new Promise((resolve) => {
    const got = () => {
      const e = {};
      for (const p of performance.getEntriesByType('paint')) e[p.name] = p.startTime;
      return e;
    };
    const done = () => {
      const e = got();
      if (e['first-paint'] !== undefined && e['first-contentful-paint'] !== undefined) {
        resolve(e);
        return true;
      }
      return false;
    };
    if (done()) return;
    new PerformanceObserver(() => done()).observe({ type: 'paint', buffered: true });
    setTimeout(() => resolve(got()), 5000);
  });
}

async function load(browser, base) {
  const ctx = await browser.newContext({ serviceWorkers: 'block' });
  try {
    const page = await ctx.newPage();
    const asked = [];
    const statuses = {};
    page.on('request', (r) => asked.push(r.url()));
    page.on('response', (r) => { statuses[r.url()] = r.status(); });
    await page.goto(base + spec.files[0], { waitUntil: 'load', timeout: 20000 });
    const p = await page.evaluate(paints);
    // each file: its path, bytes transferred (headers and body), body bytes, when its last byte
    // was in (ms since the navigation began), and how long after it was asked for
    const sizes = await page.evaluate(() => performance.getEntriesByType('navigation')
      .concat(performance.getEntriesByType('resource'))
      .map((e) => [new URL(e.name).pathname, e.transferSize, e.decodedBodySize, e.responseEnd,
                   e.responseEnd - e.requestStart]));
    const want = spec.files.map((f) => base + f);
    const extra = asked.filter((u) => !want.includes(u));
    const missing = want.filter((u) => !asked.includes(u) || statuses[u] !== 200);
    if (extra.length || missing.length)
      throw new Error(`${base}: asked for ${JSON.stringify(asked)} (statuses ` +
                      `${JSON.stringify(statuses)}), expected ${JSON.stringify(want)}, each 200`);
    if (p['first-paint'] === undefined || p['first-contentful-paint'] === undefined)
      throw new Error(`${base}: no paint entries within 5 s: ${JSON.stringify(p)}`);
    return { fp: p['first-paint'], fcp: p['first-contentful-paint'],
             fetched: Math.max(...sizes.map((f) => f[3])),
             served: sizes.reduce((n, f) => n + f[4], 0), sizes };
  } finally {
    await ctx.close();
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const out = { chromium: browser.version(), servers: {} };
  try {
    for (const [name] of spec.servers)
      out.servers[name] = { fp: [], fcp: [], fetched: [], served: [], sizes: null };
    for (let i = 0; i < (spec.warmup || 0); i++) {
      for (const [, url] of spec.servers) await load(browser, url);
    }
    const keys = ['fp', 'fcp', 'fetched', 'served'];
    for (let r = 0; r < spec.rounds; r++) {
      for (const [name] of spec.servers) for (const k of keys) out.servers[name][k].push([]);
      for (let i = 0; i < spec.loads; i++) {
        for (const [name, url] of spec.servers) {
          const s = out.servers[name];
          const l = await load(browser, url);
          for (const k of keys) s[k][r].push(l[k]);
          s.sizes = l.sizes.map((f) => f.slice(0, 3));
        }
      }
    }
  } finally {
    await browser.close();
  }
  clearTimeout(budget);
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`page_paint: ${e.stack || e}`);
  process.exit(1);
});
