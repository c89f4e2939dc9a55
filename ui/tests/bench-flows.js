#!/usr/bin/env node
// BENCHMARKS.md "Web UI: Flows page with 10,000 active keys": how long a browser takes from
// navigating to a bookmarked Flows view to a rendered page (top-100 table and trend chart)
// while the flow holds 10,000+ active keys.
//
//   node bench-flows.js            (FLOWLENS_BIN: the binary, default target/release/flowlens)
//
// Traffic: ../shared/tools/gen_traffic_pcap.py writes FLOWS synthetic flows (documentation
// addresses); Debian's softflowd reads that capture and exports NetFlow v9 to the server's
// loopback port, again every few seconds so the keys stay active. Chromium is Debian's.
const { chromium } = require('@playwright/test');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, SHARED, ROOT } = require('./server');

const FLOWS = Number(process.env.FLOWS || 15000);
const RUNS = Number(process.env.RUNS || 7);
const KEYS = 'ipsource,ipdestination,ipprotocol';
if (!process.env.FLOWLENS_BIN && fs.existsSync(path.join(ROOT, 'target/release/flowlens'))) {
  process.env.FLOWLENS_BIN = path.join(ROOT, 'target/release/flowlens');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlens-bench-'));
  const pcap = path.join(dir, 'synth.pcap');
  execFileSync('python3', [path.join(SHARED, 'tools/gen_traffic_pcap.py'), '-o', pcap,
    '--flows', String(FLOWS), '--pkts-per-flow', '1', '--span', '2'], { stdio: 'ignore' });
  const server = await startServer({ replay: false });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  let feeding = true;
  const feeder = (async () => {
    while (feeding) {
      await new Promise((done) => {
        const p = spawn('softflowd', ['-r', pcap, '-n', server.udp.netflow || server.udp.sflow, '-v', '9', '-d',
          '-c', 'none', '-m', String(FLOWS * 2), '-p', path.join(dir, 'softflowd.pid')], { stdio: 'ignore' });
        p.on('exit', done);
      });
      await sleep(1000);
    }
  })();
  try {
    const url = `${server.url}/#/flows?keys=${encodeURIComponent(KEYS)}&value=bytes&n=100`;
    // A first visit defines the flow; wait for its keys.
    const first = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await first.goto(url);
    let keys = 0;
    for (let i = 0; i < 120 && keys < 10000; i++) {
      await sleep(1000);
      keys = (await (await fetch(`${server.url}/analyzer/json`)).json()).activeKeys;
    }
    await first.close();
    if (keys < 10000) throw new Error(`only ${keys} active keys after two minutes`);
    const times = [];
    const apiTimes = [];
    for (let i = 0; i < RUNS; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(url);
      // Rendered: 100 rows in the table and the chart drawn with points.
      await page.waitForFunction(() => document.querySelectorAll('#flows-table tbody tr[data-key]').length === 100
        && Number(document.querySelector('#flows-chart')?.dataset.points || 0) > 0, null, { timeout: 30000 });
      times.push(await page.evaluate(() => performance.now()));
      await page.close();
      const name = Object.keys(await (await fetch(`${server.url}/flow/json`)).json())[0];
      const t0 = performance.now();
      await (await fetch(`${server.url}/activeflows/ALL/${name}/json?maxFlows=100`)).json();
      apiTimes.push(performance.now() - t0);
    }
    keys = (await (await fetch(`${server.url}/analyzer/json`)).json()).activeKeys;
    const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    console.log(JSON.stringify({
      binary: process.env.FLOWLENS_BIN || 'target/debug/flowlens',
      chromium: browser.version(),
      activeKeysAtEnd: keys,
      runs: RUNS,
      renderMs: { median: Math.round(med(times)), min: Math.round(Math.min(...times)), max: Math.round(Math.max(...times)) },
      activeflowsMs: { median: +med(apiTimes).toFixed(1), min: +Math.min(...apiTimes).toFixed(1), max: +Math.max(...apiTimes).toFixed(1) },
    }, null, 2));
  } finally {
    feeding = false;
    await feeder;
    await browser.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
