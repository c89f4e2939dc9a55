$(function () {
  var restPath = '../scripts/trend.js/';
  var SEP = '_SEP_';
  var db = {};

  $('#tabs').tabs({ activate: function () { $.event.trigger({ type: 'updateChart' }); } });

  $('#total').chart({ type: 'trend', metrics: ['bps'], legend: ['Total'], stack: true, units: 'Bits per Second' }, db);
  $('#toppairs').chart({
    type: 'topn', metric: 'top-flows', stack: true, sep: SEP,
    legendHeadings: ['Source', 'Destination'], units: 'Bits per Second'
  }, db);

  var nf = $.inmon.stripchart.prototype.valueStr;
  var $flows = $('#flows').DataTable({
    ajax: { url: restPath + 'flows/json', dataSrc: function (data) { return data; } },
    columns: [
      { data: 'source' },
      { data: 'destination' },
      { data: 'bps', className: 'alignr', render: function (v, type) { return type === 'display' ? nf(v) : v; } }
    ],
    order: [[2, 'desc']],
    searching: false,
    paging: false,
    info: false
  });
  setInterval(function () { $flows.ajax.reload(null, false); }, 2000);

  function updateData(data) {
    if (!data || !data.trend || !data.trend.times || data.trend.times.length === 0) return;
    if (db.trend) {
      var maxPoints = db.trend.maxPoints;
      db.trend.times = db.trend.times.concat(data.trend.times);
      var remove = db.trend.times.length > maxPoints ? db.trend.times.length - maxPoints : 0;
      if (remove) db.trend.times = db.trend.times.slice(remove);
      for (var name in db.trend.trends) {
        db.trend.trends[name] = db.trend.trends[name].concat(data.trend.trends[name]);
        if (remove) db.trend.trends[name] = db.trend.trends[name].slice(remove);
      }
    } else db.trend = data.trend;
    db.trend.start = new Date(db.trend.times[0]);
    db.trend.end = new Date(db.trend.times[db.trend.times.length - 1]);
    $.event.trigger({ type: 'updateChart' });
  }

  (function pollTrends() {
    $.ajax({
      url: restPath + 'trend/json',
      dataType: 'json',
      data: db.trend && db.trend.end ? { after: db.trend.end.getTime() } : null,
      success: updateData,
      complete: function () { setTimeout(pollTrends, 1000); },
      timeout: 60000
    });
  })();

  $(window).resize(function () { $.event.trigger({ type: 'updateChart' }); });
});
