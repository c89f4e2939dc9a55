// Browser tests of sFlow-RT's shared page assets at /inc/: an app of our own written the way
// InMon writes sFlow-RT apps (apps/inc-demo: a script defining flows and answering trend data,
// a page loading jQuery, jQuery UI, DataTables and the stripchart widgets from ../../../inc/;
// apps/inc-charts: heat map points and a sunburst tree, drawn by /inc/'s heatmap and sunburst
// widgets), served by `flowlens run --apps-dir apps` replaying the Open vSwitch sFlow capture (iperf3
// from 10.99.0.1 to 10.99.0.2). Each page must render live data with zero console errors
// (a missing /inc/ file is one: Chromium logs failed loads as errors).
const { test: base, expect } = require('@playwright/test');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, ROOT } = require('./server');

// Screenshots go to docs/screenshots/ (the README shows them) with UPDATE_SCREENSHOTS=1, else
// to a temporary directory, so a test run leaves the checkout as it was.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, 'docs/screenshots')
  : path.join(require('node:os').tmpdir(), 'flowlens-ui-screenshots');
const APPS = path.join(__dirname, 'apps');

const test = base.extend({
  server: async ({}, use) => {
    const s = await startServer({ args: ['--apps-dir', APPS] });
    await use(s);
    await s.stop();
  },
  errors: async ({ page }, use) => {
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await use(errors);
    expect(errors, 'console errors').toEqual([]);
  },
});

/** Pixels of the canvas in `sel` drawn in the colour `rgb` ([r, g, b]). */
function inked(page, sel, rgb) {
  return page.locator(`${sel} canvas`).evaluate((c, rgb) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] === rgb[0] && d[i + 1] === rgb[1] && d[i + 2] === rgb[2] && d[i + 3] > 200) n++;
    }
    return n;
  }, rgb);
}

const IP = /^\d+\.\d+\.\d+\.\d+$/;
const FIRST_COLOUR = [0x33, 0x66, 0xcc]; // the stripchart palette's first colour

test('sFlow-RT app page: /inc/ jQuery UI, DataTables and stripchart with live data', async ({ page, server, errors }) => {
  await page.goto(`${server.url}/app/inc-demo/html/`);
  // The libraries and our widgets loaded, as apps expect them.
  const api = await page.evaluate(() => ({
    jquery: $.fn.jquery,
    ui: $.ui.version,
    dataTable: typeof $.fn.DataTable,
    chart: typeof $.fn.chart,
    stripchart: typeof $.fn.stripchart,
    colors: $.inmon.stripchart.prototype.options.colors.length,
    valueStr: $.inmon.stripchart.prototype.valueStr(1234567),
  }));
  expect(api).toEqual({ jquery: '3.7.1', ui: '1.13.3', dataTable: 'function', chart: 'function', stripchart: 'function', colors: 14, valueStr: '1.23M' });
  // DataTables rows from the script's handler: live pairs from the capture.
  const firstRow = page.locator('#flows tbody tr').first();
  await expect(firstRow.locator('td').first()).toHaveText(IP, { timeout: 30_000 });
  await expect(firstRow.locator('td').nth(1)).toHaveText(IP);
  await expect(firstRow.locator('td').nth(2)).toHaveText(/^[\d.]+[kMG]?$/);
  // The trend chart's legend: inline swatch and label.
  await expect(page.locator('#total .stripchart-legend-item')).toHaveText(['Total']);
  // The topn chart's legend: the top pairs at the latest time, one row each, under headings.
  await expect(page.locator('#toppairs .stripchart-legend-table th')).toHaveText(['', 'Source', 'Destination']);
  const legendRow = page.locator('#toppairs .stripchart-legend-table tbody tr').first();
  await expect(legendRow.locator('td').nth(1)).toHaveText(IP);
  await expect(legendRow.locator('td').nth(2)).toHaveText(IP);
  // Both charts have series drawn (after at least two trend points), and the trend grows.
  await expect.poll(() => page.evaluate(() => document.querySelector('#total canvas').width), { timeout: 10_000 }).toBeGreaterThan(300);
  await expect.poll(() => inked(page, '#total', FIRST_COLOUR), { timeout: 30_000 }).toBeGreaterThan(200);
  await expect.poll(() => inked(page, '#toppairs', FIRST_COLOUR), { timeout: 30_000 }).toBeGreaterThan(200);
  // The trend grows with each poll (one point a second).
  await expect.poll(async () => Number(await page.locator('#total').getAttribute('data-points')), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(8);
  // A click on the topn plot selects a time (the chart draws a marker line there).
  const box = await page.locator('#toppairs canvas').boundingBox();
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height / 2);
  await expect(legendRow.locator('td').nth(1)).toHaveText(IP);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'inc-app.png'), fullPage: true });
});

test('Bootstrap app page: /inc/ jquery.widget.js, Popper, Bootstrap and the chart widget', async ({ page, server, errors }) => {
  await page.goto(`${server.url}/app/inc-demo/html/bootstrap.html`);
  const api = await page.evaluate(() => ({
    widget: typeof $.widget,
    // jquery.widget.js is the widget factory alone: Bootstrap's plugins are not replaced.
    tooltip: typeof ($.fn.tooltip && $.fn.tooltip.Constructor),
    dialog: typeof $.fn.dialog,
    popper: typeof Popper,
  }));
  expect(api).toEqual({ widget: 'function', tooltip: 'function', dialog: 'undefined', popper: 'function' });
  const legendRow = page.locator('#toppairs .stripchart-legend-table tbody tr').first();
  await expect(legendRow.locator('td').nth(1)).toHaveText(IP, { timeout: 30_000 });
  await expect.poll(() => inked(page, '#toppairs', FIRST_COLOUR), { timeout: 30_000 }).toBeGreaterThan(200);
  await expect(page.locator('.navbar-brand img')).toHaveJSProperty('naturalWidth', 132);
  // The page's own widget (as heatmap/sunburst apps bring theirs) works on the factory.
  await expect(page.locator('#count')).toHaveText(/^[1-9]\d* active pairs$/);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'inc-app-bootstrap.png') });
});

/** The RGBA of the canvas in `sel` at CSS pixel (x, y). */
function pixel(page, sel, x, y) {
  return page.locator(`${sel} canvas`).evaluate((c, [x, y]) => {
    const r = c.width / c.getBoundingClientRect().width;
    return Array.from(c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data);
  }, [x, y]);
}

/** `#rrggbb` as [r, g, b]. */
const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.substr(i, 2), 16));

test('heat map and sunburst app page: /inc/ jquery.heatmap.js and jquery.sunburst.js with live data', async ({ page, server, errors }) => {
  await page.goto(`${server.url}/app/inc-charts/html/`);
  const api = await page.evaluate(() => ({
    heatmap: typeof $.fn.heatmap,
    sunburst: typeof $.fn.sunburst,
    radius: $.inmon.heatmap.prototype.options.radius,
    colors: $.inmon.sunburst.prototype.options.colors.length,
  }));
  expect(api).toEqual({ heatmap: 'function', sunburst: 'function', radius: 10, colors: 31 });

  // The heat map: cells drawn around each pair; the hottest where the largest flow's point
  // is (iperf3's 10.99.0.1 -> 10.99.0.2: the page keeps the points it drew last).
  await expect.poll(async () => Number(await page.locator('#traffic').getAttribute('data-cells')), { timeout: 30_000 })
    .toBeGreaterThan(50);
  const hot = await page.evaluate(() => {
    const w = $('#traffic canvas').width();
    const h = $('#traffic canvas').height();
    const size = Math.max(2, Math.round($('#traffic').heatmap('option', 'radius') / 5));
    const cells = $('#traffic').heatmap('cells');
    const top = cells.reduce((a, b) => (b.heat > a.heat ? b : a));
    const largest = window.drawnPoints.reduce((a, b) => (b.z > a.z ? b : a));
    return { w, h, x: (top.col + 0.5) * size, y: (top.row + 0.5) * size, heat: top.heat, size,
      points: window.drawnPoints.length, px: largest.x * w, py: largest.y * h };
  });
  expect(hot.points).toBeGreaterThanOrEqual(2);
  expect(hot.heat).toBeGreaterThan(0.85);
  expect(Math.abs(hot.x - hot.px)).toBeLessThanOrEqual(hot.size);
  expect(Math.abs(hot.y - hot.py)).toBeLessThanOrEqual(hot.size);
  // Drawn in the ramp's hot end (red) there, and nothing far from the points and the diagonal.
  const [r, g, b, a] = await pixel(page, '#traffic', hot.x, hot.y);
  expect(r).toBeGreaterThan(180);
  expect(g).toBeLessThan(120);
  expect(b).toBeLessThan(120);
  expect(a).toBeGreaterThan(200);
  expect((await pixel(page, '#traffic', hot.w * 0.95, hot.h * 0.05))[3]).toBe(0);

  // The sunburst: source, destination and protocol rings, labelled with the real keys.
  await expect.poll(() => page.evaluate(() => $('#sunburst').sunburst('segments').length), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(4);
  const segs = await page.evaluate(() => $('#sunburst').sunburst('segments'));
  const find = (path) => segs.find((s) => s.path.join('/') === path);
  const src = find('10.99.0.1');
  expect(src).toMatchObject({ depth: 0, label: '10.99.0.1' });
  expect(find('10.99.0.1/10.99.0.2')).toMatchObject({ depth: 1, label: '10.99.0.2' });
  expect(find('10.99.0.1/10.99.0.2/tcp')).toMatchObject({ depth: 2, label: 'tcp' });
  // iperf3's sender carries most bytes: its segment spans more than half the circle.
  expect(src.end - src.start).toBeGreaterThan(Math.PI);
  // The segment is filled with its colour (sampled off its label), and a click on it
  // reports its path.
  const geo = await page.evaluate(() => {
    const c = $('#sunburst canvas');
    const o = $('#sunburst').sunburst('option');
    const half = Math.min(c.width(), c.height()) / 2 - 2;
    const cr = Math.min(o.centerRadius, half / 2);
    return { cx: c.width() / 2, cy: c.height() / 2, cr, step: (half - cr) / 3 };
  });
  const angle = src.start + 0.15 * (src.end - src.start);
  const rad = geo.cr + geo.step / 2;
  const at = { x: geo.cx + rad * Math.cos(angle), y: geo.cy + rad * Math.sin(angle) };
  expect((await pixel(page, '#sunburst', at.x, at.y)).slice(0, 3)).toEqual(rgbOf(src.color));
  const box = await page.locator('#sunburst canvas').boundingBox();
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await expect(page.locator('#selected')).toHaveText('10.99.0.1');
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'inc-charts.png') });

  // Dark pages: the centre disc and gaps take the page's background, the labels stay.
  const centre = () => pixel(page, '#sunburst', geo.cx + geo.cr / 2, geo.cy + geo.cr / 2);
  expect((await centre()).slice(0, 3)).toEqual([255, 255, 255]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(async () => (await centre()).slice(0, 3), { timeout: 10_000 }).toEqual([0x16, 0x19, 0x1d]);
  await expect.poll(() => page.evaluate(() => $('#sunburst').sunburst('segments').filter((s) => s.label).length))
    .toBeGreaterThanOrEqual(3);
  await page.screenshot({ path: path.join(SHOTS, 'inc-charts-dark.png') });
});

test('/inc/ serves every file InMon app pages load, and 404 for others', async ({ request }) => {
  const s = await startServer({ replay: false });
  try {
    const paths = {
      'jquery.min.js': 'text/javascript',
      'jquery-ui/jquery-ui.min.js': 'text/javascript',
      'jquery-ui/jquery-ui.structure.min.css': 'text/css',
      'jquery-ui/jquery-ui.theme.css': 'text/css',
      'DataTables/css/dataTables.jqueryui.css': 'text/css',
      'DataTables/js/jquery.dataTables.min.js': 'text/javascript',
      'DataTables/js/dataTables.jqueryui.min.js': 'text/javascript',
      'stripchart.css': 'text/css',
      'jquery.stripchart.js': 'text/javascript',
      'stripchart.js': 'text/javascript',
      'jquery.widget.js': 'text/javascript',
      'jquery.heatmap.js': 'text/javascript',
      'jquery.sunburst.js': 'text/javascript',
      'bootstrap.min.css': 'text/css',
      'bootstrap.min.js': 'text/javascript',
      'popper.min.js': 'text/javascript',
      'inmsf/main.css': 'text/css',
      'img/favicon.png': 'image/png',
      'img/inmon.svg': 'image/svg+xml',
    };
    for (const [p, type] of Object.entries(paths)) {
      const r = await request.get(`${s.url}/inc/${p}`);
      expect(r.status(), p).toBe(200);
      expect(r.headers()['content-type'], p).toBe(type);
    }
    // Images the stylesheets refer to resolve too.
    for (const css of ['jquery-ui/jquery-ui.theme.css', 'inmsf/main.css']) {
      const text = await (await request.get(`${s.url}/inc/${css}`)).text();
      const urls = [...text.matchAll(/url\("?([^")]+)"?\)/g)].map((m) => decodeURIComponent(m[1]).replace(/"/g, ''))
        .filter((u) => !u.startsWith('data:'));
      expect(urls.length, css).toBeGreaterThan(0);
      for (const u of urls) {
        const r = await request.get(new URL(u, `${s.url}/inc/${css}`).href);
        expect(r.status(), `${css}: ${u}`).toBe(200);
      }
    }
    const missing = await request.get(`${s.url}/inc/nope.js`);
    expect(missing.status()).toBe(404);
    expect(await missing.text()).toContain('no such resource: /inc/nope.js');
  } finally {
    await s.stop();
  }
});
