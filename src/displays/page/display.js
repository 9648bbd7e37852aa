// The hall screen: shows today's board for one centre and keeps it current
// over the live WebSocket. The display token is entered once and kept in this
// browser's storage — never in the URL.
(function () {
  "use strict";
  var centreId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  var storageKey = "mulin.display." + centreId;
  var token = localStorage.getItem(storageKey);
  var socket = null;
  var lastSeq = null;
  var backoff = 1000;
  var online = false;
  var today = null;
  var refreshTimer = null;
  var timezone = "Asia/Shanghai";
  var pageTimer = null;
  var pageIndex = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function localParts(iso, tz) {
    var parts = new Intl.DateTimeFormat("zh-CN", { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false }).formatToParts(new Date(iso));
    var h = "", m = "";
    parts.forEach(function (p) { if (p.type === "hour") h = p.value; if (p.type === "minute") m = p.value; });
    return h + ":" + m;
  }

  var stateWords = {
    upcoming: null,
    in_progress: ["进行中", "In progress"],
    ended: ["已结束", "Ended"],
    cancelled: ["已取消", "Cancelled"]
  };

  function render(board) {
    today = board.date;
    $("centre-name").textContent = board.centre.name;
    document.title = board.centre.name + " · 今日活动";
    var list = $("events");
    list.textContent = "";
    board.events.forEach(function (e) {
      var item = el("li", "event " + e.status);
      item.dataset.id = e.id;
      var time = el("div", "time", localParts(e.starts_at, board.centre.timezone));
      var middle = el("div");
      var title = el("div", "title", e.title);
      var words = stateWords[e.status];
      if (words) title.appendChild(el("span", "badge" + (e.status === "cancelled" ? " cancelled" : ""), words[0] + " " + words[1]));
      middle.appendChild(title);
      middle.appendChild(el("div", "org", e.organization_name + (e.location ? " · " + e.location : "")));
      var figures = el("div", "figures");
      if (e.status !== "cancelled") {
        var full = e.seats_left <= 0;
        var line = el("div", "seats" + (full ? " full" : ""), (full ? "已满" : "余 " + e.seats_left + " 位") + " · 已到 " + e.checked_in_count + " 人");
        figures.appendChild(line);
        figures.appendChild(el("div", "en", (full ? "Full" : e.seats_left + " seats left") + " · " + e.checked_in_count + " arrived"));
      }
      item.appendChild(time);
      item.appendChild(middle);
      item.appendChild(figures);
      list.appendChild(item);
    });
    $("empty").hidden = board.events.length > 0;
    var notes = $("announcement-list");
    notes.textContent = "";
    board.announcements.forEach(function (a) { notes.appendChild(el("li", null, a.text)); });
    $("announcements").hidden = board.announcements.length === 0;
    $("board").hidden = false;
    $("pairing").hidden = true;
    timezone = board.centre.timezone;
    fit();
  }

  // Everything must be readable without scrolling: past activities give way
  // first; if the rest still does not fit, the list turns pages every 12 s.
  function fit() {
    var list = $("events");
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (i) { i.hidden = false; });
    if (pageTimer) { clearInterval(pageTimer); pageTimer = null; }
    $("page").hidden = true;
    if (list.scrollHeight <= list.clientHeight) return;
    items.forEach(function (i) { if (i.classList.contains("ended")) i.hidden = true; });
    var shown = items.filter(function (i) { return !i.hidden; });
    if (list.scrollHeight <= list.clientHeight) return;
    var pages = [];
    var current = [];
    shown.forEach(function (i) { i.hidden = true; });
    shown.forEach(function (i) {
      current.push(i);
      current.forEach(function (c) { c.hidden = false; });
      if (list.scrollHeight > list.clientHeight && current.length > 1) {
        current.pop();
        pages.push(current);
        current.forEach(function (c) { c.hidden = true; });
        current = [i];
      }
      current.forEach(function (c) { c.hidden = true; });
    });
    if (current.length) pages.push(current);
    function showPage() {
      shown.forEach(function (i) { i.hidden = true; });
      pageIndex = pageIndex % pages.length;
      pages[pageIndex].forEach(function (i) { i.hidden = false; });
      $("page").textContent = (pageIndex + 1) + " / " + pages.length;
      $("page").hidden = false;
      pageIndex += 1;
    }
    showPage();
    pageTimer = setInterval(showPage, 12000);
  }

  function loadBoard() {
    return fetch("/api/v1/centres/" + encodeURIComponent(centreId) + "/board", {
      headers: { "Authorization": "Bearer " + token, "Accept-Language": "zh-CN" },
      cache: "no-store"
    }).then(function (res) {
      if (res.status === 401 || res.status === 403) { unpair("令牌无效，请重新输入 Token not valid"); throw new Error("unpaired"); }
      if (!res.ok) throw new Error("board " + res.status);
      return res.json();
    }).then(render);
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      loadBoard().catch(function () {});
    }, 250);
  }

  function setOnline(value) {
    online = value;
    $("status").hidden = value;
    document.body.classList.toggle("stale", !value);
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/live";
    socket = new WebSocket(url, ["mulin.v1", "mulin.bearer." + token]);
    socket.onopen = function () {
      var message = { op: "subscribe", topic: "centre:" + centreId };
      if (lastSeq !== null) message.since = lastSeq;
      socket.send(JSON.stringify(message));
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.op === "subscribed") {
        var resumed = lastSeq !== null;
        lastSeq = message.seq;
        backoff = 1000;
        setOnline(true);
        // After a gap the board may have changed in ways no message says: reload.
        if (resumed) scheduleRefresh();
      } else if (message.op === "event") {
        lastSeq = message.seq;
        scheduleRefresh();
      } else if (message.op === "resync") {
        lastSeq = null;
        scheduleRefresh();
      }
    };
    socket.onclose = function (event) {
      setOnline(false);
      if (event.code === 4003) { unpair("此显示屏已被停用 This screen was revoked"); return; }
      setTimeout(function () {
        loadBoard().catch(function () {});
        connect();
      }, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function unpair(reason) {
    localStorage.removeItem(storageKey);
    token = null;
    if (socket) { socket.onclose = null; socket.close(); }
    $("board").hidden = true;
    $("pairing").hidden = false;
    if (reason) { $("pair-error").textContent = reason; $("pair-error").hidden = false; }
  }

  // The clock and "today" follow the centre's time zone, not the TV's.
  function tick() {
    var now = new Date();
    $("clock-time").textContent = localParts(now.toISOString(), timezone);
    $("clock-date").textContent = now.toLocaleDateString("zh-CN", { timeZone: timezone, month: "long", day: "numeric", weekday: "long" });
    var iso = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
    if (token && today && iso !== today) scheduleRefresh();
  }

  $("pair-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = $("token").value.trim();
    if (!value) return;
    token = value;
    localStorage.setItem(storageKey, value);
    $("pair-error").hidden = true;
    start();
  });

  function start() {
    loadBoard().then(function () { connect(); }).catch(function (e) {
      if (e && e.message === "unpaired") return;
      setOnline(false);
      setTimeout(start, backoff);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  window.addEventListener("resize", function () { if (!$("board").hidden) fit(); });
  setInterval(tick, 15000);
  tick();
  if (token) { start(); } else { $("pairing").hidden = false; }
})();
