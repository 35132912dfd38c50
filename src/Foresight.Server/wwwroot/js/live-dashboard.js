// The coordinator's live dashboard. It joins the survey on the live hub, draws the snapshot, then applies the
// numbered updates in place. A gap in a stream's sequence numbers, a reconnect or a round event means joining
// again, which brings a fresh snapshot.
(() => {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const survey = root.dataset.survey;
  const text = JSON.parse(root.dataset.strings);
  const questionSelect = document.getElementById("question");
  const topics = new Map();
  const seqs = new Map();
  // Up to `digits` decimals, without trailing zeros after the point (7, 6.5, 66.67).
  const fmt = (v, digits = 2) => {
    if (v === null || v === undefined) return "–";
    const s = Number(v).toFixed(digits);
    return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
  };

  const connection = new signalR.HubConnectionBuilder()
    .withUrl("/hubs/live")
    .withAutomaticReconnect()
    .build();

  function setStatus(key) {
    const el = document.getElementById("connection");
    el.textContent = text["live." + key] || key;
    el.dataset.state = key;
  }

  function accept(message) {
    const last = seqs.get(message.stream);
    if (last !== undefined && message.seq <= last) return false;
    if (last !== undefined && message.seq !== last + 1) {
      join();
      return false;
    }
    seqs.set(message.stream, message.seq);
    return true;
  }

  function showRound(round) {
    const el = document.getElementById("round");
    if (!round) {
      el.textContent = text["live.noround"];
      return;
    }
    let line = text["live.round"].replace("{0}", round.number) + " · " + (text["status." + round.status] || round.status);
    if (round.deadline) line += " · " + text["live.deadline"] + " " + new Date(round.deadline).toLocaleString(root.dataset.lang);
    el.textContent = line;
  }

  function showProgress(p) {
    if (!p) return;
    document.getElementById("invited").textContent = p.experts_invited;
    document.getElementById("responded").textContent = p.experts_responded;
    document.getElementById("finished").textContent = p.experts_finished;
    document.getElementById("answers").textContent = p.answers_received;
    for (const f of p.fields) {
      const row = document.getElementById("field-" + f.field);
      if (!row) continue;
      row.querySelector('[data-col="experts"]').textContent = f.experts;
      row.querySelector('[data-col="responded"]').textContent = f.responded;
      row.querySelector('[data-col="finished"]').textContent = f.finished;
      const pct = f.topic_answers_expected ? (100 * f.topic_answers) / f.topic_answers_expected : 0;
      row.querySelector(".bar span").style.width = pct.toFixed(1) + "%";
      row.querySelector('[data-col="pct"]').textContent = f.topic_answers + " / " + f.topic_answers_expected;
    }
  }

  // A bar of the answers' distribution: one segment per value, darker for higher values.
  function chart(q) {
    const entries = q.counts && q.counts.length ? q.counts.map((c) => [c.code, c.count]) : q.distribution.map((d) => [String(d.value), d.count]);
    const total = entries.reduce((s, e) => s + e[1], 0);
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 160 14");
    svg.setAttribute("width", "160");
    svg.setAttribute("height", "14");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", entries.map((e) => e[0] + ": " + e[1]).join(", "));
    let x = 0;
    entries.forEach(([label, count], i) => {
      if (!total || !count) return;
      const w = (160 * count) / total;
      const rect = document.createElementNS(svgNs, "rect");
      rect.setAttribute("x", x.toFixed(2));
      rect.setAttribute("width", Math.max(w - 1, 0.5).toFixed(2));
      rect.setAttribute("height", "14");
      const shade = entries.length > 1 ? i / (entries.length - 1) : 1;
      rect.setAttribute("fill", "hsl(210, 60%, " + (82 - 50 * shade).toFixed(0) + "%)");
      const title = document.createElementNS(svgNs, "title");
      title.textContent = label + ": " + count;
      rect.appendChild(title);
      svg.appendChild(rect);
      x += w;
    });
    return svg;
  }

  function showTopic(t, flash) {
    const row = document.getElementById("topic-" + t.topic);
    if (!row) return;
    const q = t.questions.find((x) => x.question === questionSelect.value);
    row.querySelector('[data-col="n"]').textContent = q ? q.n : t.respondents;
    row.querySelector('[data-col="median"]').textContent = q ? fmt(q.median) : "–";
    row.querySelector('[data-col="iqr"]').textContent = q ? fmt(q.iqr) : "–";
    row.querySelector('[data-col="agree"]').textContent = q && q.pct_agree !== null ? fmt(q.pct_agree, 0) + "%" : "–";
    const cell = row.querySelector('[data-col="chart"]');
    cell.replaceChildren(q ? chart(q) : "");
    const state = row.querySelector('[data-col="state"]');
    state.textContent = text["state." + t.state] || t.state;
    state.className = "state " + t.state;
    row.dataset.respondents = t.respondents;
    // When the row last changed (ms since the epoch): the delay from a save to the screen is measured against it.
    row.dataset.updatedAt = Date.now();
    if (flash) {
      row.classList.remove("changed");
      void row.offsetWidth;
      row.classList.add("changed");
    }
  }

  function applySnapshot(s) {
    for (const [stream, seq] of Object.entries(s.streams)) seqs.set(stream, seq);
    if (s.round !== undefined) showRound(s.round);
    showProgress(s.progress);
    for (const t of s.topics) {
      topics.set(t.topic, t);
      showTopic(t, false);
    }
  }

  async function join() {
    try {
      applySnapshot(await connection.invoke("Join", survey));
      setStatus("connected");
    } catch (e) {
      setStatus("disconnected");
      console.error(e);
    }
  }

  connection.on("update", (m) => {
    if (!accept(m)) return;
    showProgress(m.progress);
    for (const t of m.topics) {
      topics.set(t.topic, t);
      showTopic(t, true);
    }
  });
  connection.on("round", (m) => {
    if (accept(m)) showRound(m.round);
    join();
  });
  connection.on("snapshot", applySnapshot);
  connection.onreconnecting(() => setStatus("reconnecting"));
  connection.onreconnected(join);
  connection.onclose(() => setStatus("disconnected"));
  questionSelect.addEventListener("change", () => topics.forEach((t) => showTopic(t, false)));

  connection.start().then(join).catch(() => setStatus("disconnected"));
})();
