// Starts `flowlens run` on loopback for one test: HTTP and UDP ports picked by the kernel,
// a fresh state directory, the repository's Open vSwitch capture (testdata/captures) replayed at
// capture speed.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
/** Beside a checkout: the full capture set and the sFlow-RT article scripts (absent from a
 * plain clone; tests that need them skip, see ui.spec.js). */
const SHARED = path.resolve(ROOT, '../shared');
/** The binary: FLOWLENS_BIN (read at each start), else the debug build. */
const bin = () => process.env.FLOWLENS_BIN || path.join(ROOT, 'target/debug/flowlens');

/** The Open vSwitch sFlow capture: agent 127.0.0.1, iperf3 10.99.0.1 -> 10.99.0.2 first. */
const OVS_CAPTURE = path.join(ROOT, 'testdata/captures/exporters/sflow-ovs-br0.pcap');

/**
 * Starts a server; `opts.args` are extra flags, `opts.stateDir` reuses a state directory.
 * Resolves to {url, udp: {sflow, …}, stop(), stateDir, log()} once it prints its
 * listening line.
 */
function startServer(opts = {}) {
  const stateDir = opts.stateDir || fs.mkdtempSync(path.join(os.tmpdir(), 'flowlens-ui-'));
  const args = ['run', '--http', '127.0.0.1:0', '--sflow', '127.0.0.1:0', '--netflow', '127.0.0.1:0',
    '--ipfix', '127.0.0.1:0', '--state-dir', path.join(stateDir, 'state'), ...(opts.args || [])];
  if (opts.replay !== false) args.push('--replay', opts.replay || OVS_CAPTURE, '--loop');
  const child = spawn(bin(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`flowlens did not start:\n${log}`)); }, 30_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`flowlens exited (${code}):\n${log}`)); });
    child.stderr.on('data', (d) => {
      log += d;
      const m = /listening on HTTP (\S+),/.exec(log);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        // `sflow UDP 127.0.0.1:N (rcvbuf …)`: each socket's address (one socket here, as all
        // three protocols were given the same address; every socket takes every protocol).
        const udp = {};
        for (const [, name, addr] of log.matchAll(/(\w+) UDP (\S+) \(rcvbuf/g)) udp[name] = addr;
        resolve({
          url: `http://${m[1]}`,
          udp,
          stateDir,
          log: () => log,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null) { done(); return; }
            child.on('exit', () => done());
            child.kill('SIGTERM');
          }),
        });
      }
    });
  });
}

module.exports = { startServer, OVS_CAPTURE, SHARED, ROOT };
