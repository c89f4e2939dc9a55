// Copies the pinned libraries' dist files from node_modules/ into www/ at the paths sFlow-RT
// app pages load them from (`../../../inc/…`), with their licences under www/licenses/.
// `node vendor.js` writes; `node vendor.js --check` fails when www/ differs from node_modules/
// (run after `npm ci` to prove the committed files are the pinned packages' files).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const NM = path.join(__dirname, 'node_modules');
const WWW = path.join(__dirname, 'www');

/** [destination under www/, source under node_modules/ (or a function returning the bytes)]. */
const FILES = [
  ['jquery.min.js', 'jquery/dist/jquery.min.js'],
  ['jquery-ui/jquery-ui.min.js', 'jquery-ui-dist/jquery-ui.min.js'],
  ['jquery-ui/jquery-ui.min.css', 'jquery-ui-dist/jquery-ui.min.css'],
  ['jquery-ui/jquery-ui.structure.min.css', 'jquery-ui-dist/jquery-ui.structure.min.css'],
  ['jquery-ui/jquery-ui.theme.css', 'jquery-ui-dist/jquery-ui.theme.css'],
  ['jquery-ui/jquery-ui.theme.min.css', 'jquery-ui-dist/jquery-ui.theme.min.css'],
  ...fs.readdirSync(path.join(NM, 'jquery-ui-dist/images'))
    .map((f) => [`jquery-ui/images/${f}`, `jquery-ui-dist/images/${f}`]),
  // jQuery UI's widget factory alone (what Bootstrap-styled pages load as jquery.widget.js, so
  // that `$.widget` exists without jQuery UI's widgets clashing with Bootstrap's plugins).
  ['jquery.widget.js', () => Buffer.concat([
    fs.readFileSync(path.join(NM, 'jquery-ui/ui/version.js')),
    Buffer.from('\n'),
    fs.readFileSync(path.join(NM, 'jquery-ui/ui/widget.js')),
  ])],
  ['DataTables/js/jquery.dataTables.min.js', 'datatables.net/js/jquery.dataTables.min.js'],
  ['DataTables/js/jquery.dataTables.js', 'datatables.net/js/jquery.dataTables.js'],
  ['DataTables/js/dataTables.jqueryui.min.js', 'datatables.net-jqui/js/dataTables.jqueryui.min.js'],
  ['DataTables/js/dataTables.jqueryui.js', 'datatables.net-jqui/js/dataTables.jqueryui.js'],
  ['DataTables/css/dataTables.jqueryui.css', 'datatables.net-jqui/css/dataTables.jqueryui.css'],
  ['DataTables/css/dataTables.jqueryui.min.css', 'datatables.net-jqui/css/dataTables.jqueryui.min.css'],
  ...fs.readdirSync(path.join(NM, 'datatables.net-jqui/images'))
    .map((f) => [`DataTables/images/${f}`, `datatables.net-jqui/images/${f}`]),
  ['bootstrap.min.css', 'bootstrap/dist/css/bootstrap.min.css'],
  ['bootstrap.min.js', 'bootstrap/dist/js/bootstrap.min.js'],
  ['bootstrap.bundle.min.js', 'bootstrap/dist/js/bootstrap.bundle.min.js'],
  ['popper.min.js', 'popper.js/dist/umd/popper.min.js'],
  ['licenses/jquery.txt', 'jquery/LICENSE.txt'],
  ['licenses/jquery-ui.txt', 'jquery-ui-dist/LICENSE.txt'],
  ['licenses/datatables.net.txt', 'datatables.net/License.txt'],
  ['licenses/datatables.net-jqui.txt', 'datatables.net-jqui/License.txt'],
  ['licenses/bootstrap.txt', 'bootstrap/LICENSE'],
  // popper.js 1.16.1 ships no licence file: its package.json says MIT and popper.min.js's
  // header names the copyright holder; the MIT terms are written out here.
  ['licenses/popper.js.txt', () => Buffer.from(`popper.js 1.16.1 (npm), MIT License
Copyright (C) Federico Zivolo 2020 (popper.min.js's header; package.json: "license": "MIT")

${fs.readFileSync(path.join(NM, 'jquery/LICENSE.txt'), 'utf8')
    .replace(/^Copyright[^\n]*\n\n/m, '')}`)],
];

const check = process.argv.includes('--check');
let differ = 0;
for (const [dest, src] of FILES) {
  const bytes = typeof src === 'function' ? src() : fs.readFileSync(path.join(NM, src));
  const out = path.join(WWW, dest);
  if (check) {
    if (!fs.existsSync(out) || !fs.readFileSync(out).equals(bytes)) {
      console.error(`differs: www/${dest}`);
      differ++;
    }
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, bytes);
  }
}
if (check && differ) process.exit(1);
console.log(`${FILES.length} files ${check ? 'match node_modules' : 'written to www/'}`);
