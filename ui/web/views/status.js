// Status: the collector's rates, drops, process and agents, from /analyzer/json,
// /agents/json and /version; rates are the change between two polls.

import { every, getJson, getText } from '../lib/api.js';
import { TimeChart, Window, palette } from '../lib/chart.js';
import { bytes, duration, h, int, pct, si } from '../lib/format.js';
import { SortTable } from '../lib/table.js';

const POLL_MS = 2000;

export function mount(main, params, setParams) {
  const tiles = h('div', { class: 'grid', id: 'status-tiles' });
  const chartEl = h('div', { id: 'status-chart' });
  const agentsEl = h('div', { id: 'agents' });
  const err = h('p', { class: 'err', role: 'alert' });
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'Status'), h('span', { class: 'hint', id: 'version' })),
    err,
    tiles,
    h('div', { class: 'panel' }, h('h2', {}, 'Datagrams and samples per second'), chartEl),
    h('div', { class: 'panel', style: 'margin-top:10px' }, h('h2', {}, 'Agents'), agentsEl),
  );
  const c = palette();
  const chart = new TimeChart(chartEl, {
    series: [
      { label: 'sFlow datagrams/s', color: c[0] },
      { label: 'NetFlow/IPFIX datagrams/s', color: c[1] },
      { label: 'flow samples/s', color: c[2] },
      { label: 'NetFlow records/s', color: c[3] },
    ],
    unit: '/s',
  });
  const win = new Window(4);
  const agents = new SortTable(agentsEl, {
    label: 'Agents',
    sort: params.get('sort') || 'agent',
    dir: params.get('dir') || 'asc',
    onSort: (s, d) => { params.set('sort', s); params.set('dir', d); setParams(params); },
    columns: [
      { id: 'agent', label: 'Agent', cell: (r) => h('span', { class: 'mono' }, r.agent) },
      { id: 'datagrams', label: 'Datagrams', num: true, fmt: int },
      { id: 'rate', label: 'Datagrams/s', num: true, fmt: (v) => si(v) },
      { id: 'lost', label: 'Seq. lost', num: true, fmt: int, title: 'datagrams missing from the sequence' },
      { id: 'loss', label: 'Loss', num: true, fmt: pct },
      { id: 'samplesLost', label: 'Samples lost', num: true, fmt: int },
      { id: 'drops', label: 'Agent drops', num: true, fmt: int },
      { id: 'sampling', label: 'Sampling', num: true, fmt: (v) => (v ? `1:${int(v)}` : '–'), title: 'configured 1-in-N rate' },
      { id: 'effective', label: 'Effective', num: true, fmt: (v) => (v ? `1:${si(v)}` : '–'), title: 'effective sampling rate: sample-pool growth per sample received' },
      { id: 'lastSeen', label: 'Last seen', num: true, fmt: (v) => `${duration(v)} ago` },
    ],
  });

  let prev = null;
  const prevAgents = new Map();
  getText('/version').then((v) => { main.querySelector('#version').textContent = `flowlens ${v}`; }).catch(() => {});

  const stop = every(POLL_MS, async (signal) => {
    const [a, ag] = await Promise.all([getJson('/analyzer/json', signal), getJson('/agents/json', signal)]);
    err.textContent = '';
    const dt = prev ? (a.uptime - prev.uptime) / 1000 : 0;
    const rate = (k) => (prev && dt > 0 ? Math.max(0, (a[k] - prev[k]) / dt) : null);
    const cpu = prev && dt > 0 && a.cpuTime !== undefined ? (100 * (a.cpuTime - prev.cpuTime)) / (dt * 1000) : null;
    const decode = (x) => x.rejectedDatagrams + x.unknownDatagrams + x.sampleErrors + x.netflowRecordErrors;
    const decodeRate = prev && dt > 0 ? Math.max(0, (decode(a) - decode(prev)) / dt) : null;
    const tile = (id, label, value, sub, bad) => h('div', { class: `panel stat${bad ? ' bad' : ''}`, id },
      h('div', { class: 'l' }, label), h('div', { class: 'v' }, value), h('div', { class: 's' }, sub));
    tiles.replaceChildren(
      tile('t-sflow', 'sFlow datagrams/s', si(rate('sFlowDatagramsReceived')), `${int(a.sFlowDatagramsReceived)} total`),
      tile('t-netflow', 'NetFlow/IPFIX datagrams/s', si(rate('netflowDatagramsReceived')), `${int(a.netflowDatagramsReceived)} total`),
      tile('t-flowsamples', 'Flow samples/s', si(rate('flowSamples')), `${int(a.flowSamples)} total`),
      tile('t-countersamples', 'Counter samples/s', si(rate('counterSamples')), `${int(a.counterSamples)} total`),
      tile('t-records', 'NetFlow records/s', si(rate('netflowRecords')), `${int(a.netflowRecords)} total`),
      tile('t-drop-socket', 'Drops: socket', int(a.kernelDrops), 'kernel receive buffer full', a.kernelDrops > 0),
      tile('t-drop-queue', 'Drops: queue', int(a.datagramsDropped), 'engine queue full', a.datagramsDropped > 0),
      tile('t-drop-decode', 'Drops: decode', int(decode(a)), `${si(decodeRate)}/s rejected, unknown or bad records`, decode(a) > 0),
      tile('t-cpu', 'CPU', pct(cpu), 'of one core'),
      tile('t-mem', 'Memory', bytes(a.memoryResident), 'resident'),
      tile('t-uptime', 'Uptime', duration(a.uptime), `version ${a.version}`),
      tile('t-keys', 'Active keys', int(a.activeKeys), `${int(a.sFlowAgents)} sFlow agents`),
    );
    if (prev) {
      win.push(Date.now() / 1000, [rate('sFlowDatagramsReceived'), rate('netflowDatagramsReceived'), rate('flowSamples'), rate('netflowRecords')]);
      chart.setData(win.data());
    }
    const rows = Object.entries(ag).map(([agent, s]) => {
      const p = prevAgents.get(agent);
      const seen = s.sFlowDatagramsReceived + s.sFlowDatagramsLost;
      return {
        agent,
        datagrams: s.sFlowDatagramsReceived,
        rate: p && dt > 0 ? Math.max(0, (s.sFlowDatagramsReceived - p.sFlowDatagramsReceived) / dt) : null,
        lost: s.sFlowDatagramsLost,
        loss: seen ? (100 * s.sFlowDatagramsLost) / seen : 0,
        samplesLost: s.sFlowFlowLostSamples,
        drops: s.sFlowFlowDrops,
        sampling: s.sFlowSamplingRate,
        effective: s.sFlowEffectiveSamplingRate,
        lastSeen: s.lastSeen,
      };
    });
    for (const [agent, s] of Object.entries(ag)) prevAgents.set(agent, s);
    agents.render(rows);
    prev = a;
  }, (e) => { err.textContent = `Cannot load status: ${e.message}`; });

  return () => { stop(); chart.destroy(); };
}
