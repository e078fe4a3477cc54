// The job page's live log (served at /static/lava.js; no external scripts).
//
// The server sends lines in chunks over Server-Sent Events as [number, time, level, text].
// Lines are queued and appended once per animation frame in one DocumentFragment, so even a
// 50 MB log never reflows the page per line. Text goes in with textContent only: log output
// is never parsed as HTML. With data-keep="N" only the last N lines stay in the page.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || !window.EventSource) {
    return;
  }
  var keep = parseInt(log.getAttribute("data-keep"), 10) || 0;
  var follow = document.getElementById("log-follow");
  var status = document.getElementById("log-status");
  var queue = [];
  var scheduled = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  // At most this many lines are added per frame, so a whole 50 MB log arriving at once
  // still leaves the page responsive (the rest waits for the next frame).
  var PER_FRAME = 5000;

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(flush);
    }
  }

  function flush() {
    scheduled = false;
    if (keep > 0 && queue.length > keep) {
      queue = queue.slice(queue.length - keep);
    }
    var lines = queue.slice(0, PER_FRAME);
    queue = queue.slice(lines.length);
    if (queue.length > 0) {
      schedule();
    }
    var frag = document.createDocumentFragment();
    for (var i = 0; i < lines.length; i++) {
      var l = lines[i];
      var row = document.createElement("div");
      row.id = "L" + l[0];
      row.className = "l-" + l[2];
      row.title = l[1];
      var n = document.createElement("span");
      n.className = "n";
      n.textContent = l[0];
      row.appendChild(n);
      row.appendChild(document.createTextNode(l[3]));
      frag.appendChild(row);
    }
    log.appendChild(frag);
    if (keep > 0) {
      while (log.childNodes.length > keep) {
        log.removeChild(log.firstChild);
      }
    }
    if (!follow || follow.checked) {
      log.scrollTop = log.scrollHeight;
    }
  }

  var source = new EventSource(log.getAttribute("data-stream"));
  say("loading…");
  source.addEventListener("lines", function (e) {
    var lines = JSON.parse(e.data);
    for (var i = 0; i < lines.length; i++) {
      queue.push(lines[i]);
    }
    schedule();
    say("live");
  });
  source.addEventListener("end", function () {
    // Without close() the browser would reconnect and wait for lines that never come.
    source.close();
    say("job finished");
  });
  source.onerror = function () {
    say("reconnecting…");
  };
})();
