// eitaxii console: local times, the review table's select buttons, and
// the live board. No framework; loaded with defer on every page.
"use strict";

// Every <time datetime> shows UTC; add the browser's own zone next to it.
function localTimes(root) {
  const fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium"});
  for (const el of root.querySelectorAll("time[datetime]")) {
    if (el.dataset.local) continue;
    const d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) continue;
    el.dataset.local = "1";
    const span = document.createElement("span");
    span.className = "local";
    span.textContent = " (" + fmt.format(d) + " local)";
    el.after(span);
  }
}

function zoneName() {
  const zone = document.querySelector(".local-zone");
  if (zone) {
    zone.textContent = "; local times in " + Intl.DateTimeFormat().resolvedOptions().timeZone;
  }
}

function selectButtons() {
  for (const b of document.querySelectorAll("button.select-all, button.select-none")) {
    b.addEventListener("click", () => {
      const on = b.classList.contains("select-all");
      for (const box of document.querySelectorAll('input[type=checkbox][name="' + b.dataset.target + '"]')) {
        box.checked = on;
      }
    });
  }
}

const maxLiveRows = 500;

function liveBoard() {
  const rows = document.getElementById("live-rows");
  if (!rows) return;
  const state = document.getElementById("live-state");
  const pause = document.getElementById("live-pause");
  let paused = false;
  let held = [];
  // What the board shows or holds, so that a replay after a reconnect
  // (which starts a little early, see live.go) adds nothing twice.
  const seen = new Set();
  const key = (ev) => ev.collection + " " + ev.id + " " + ev.date_added;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      for (const ev of held) show(ev);
      held = [];
    }
    state.textContent = paused ? "Paused: new objects are held until you resume." : "Live.";
  });
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  function show(ev) {
    const tr = document.createElement("tr");
    tr.className = "new";
    const added = document.createElement("time");
    added.setAttribute("datetime", ev.date_added);
    added.textContent = ev.date_added.replace("T", " ").replace(/\.\d+Z$/, " UTC");
    const td = document.createElement("td");
    td.appendChild(added);
    tr.appendChild(td);
    cell(tr, ev.collection_title);
    cell(tr, ev.type);
    const name = cell(tr, "");
    const a = document.createElement("a");
    a.href = ev.link;
    a.textContent = ev.name || ev.id;
    name.appendChild(a);
    if (ev.detail) {
      const code = document.createElement("code");
      code.textContent = ev.detail;
      name.appendChild(document.createElement("br"));
      name.appendChild(code);
    }
    const tlp = cell(tr, "");
    const badge = document.createElement("span");
    badge.className = "tlp tlp-" + ev.tlp.replace("+", "-");
    badge.textContent = ev.tlp === "none" ? "no TLP" : "TLP:" + ev.tlp.toUpperCase();
    tlp.appendChild(badge);
    rows.prepend(tr);
    localTimes(tr);
    while (rows.children.length > maxLiveRows) rows.lastElementChild.remove();
  }
  const es = new EventSource("/console/live/events");
  es.addEventListener("ready", (e) => {
    const r = JSON.parse(e.data);
    const n = r.collections;
    let text = paused ? "Paused." : "Live: following " + n + " collection" + (n === 1 ? "" : "s") + ".";
    if (r.skipped) text += " Reconnected: some objects published meanwhile are not shown; see the collection pages.";
    else if (r.resumed) text += " Reconnected: objects published meanwhile are shown.";
    state.textContent = text;
    document.body.dataset.live = "ready";
  });
  es.addEventListener("object", (e) => {
    const ev = JSON.parse(e.data);
    const k = key(ev);
    if (seen.has(k)) return;
    seen.add(k);
    if (seen.size > 4 * maxLiveRows) seen.delete(seen.values().next().value);
    if (paused) held.push(ev); else show(ev);
  });
  es.addEventListener("end", () => {
    es.close();
    // The session ended or what it may read changed: the page tells which.
    window.location.reload();
  });
  es.onerror = () => {
    state.textContent = "Reconnecting…";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  zoneName();
  selectButtons();
  liveBoard();
});
