/* The page of a Playground HTML export (storage/html.py): builds every turn from the embedded
 * session document and replays it from the recorded timelines, as playground/web/replay.py does.
 * Text from the document is only ever set with textContent or SVG text nodes, never parsed as HTML;
 * an answer's rendered Markdown is static HTML of the file (storage/html.py: #rendered, made by the
 * page's own safe renderer), moved into its lane, and shown once the lane has replayed to its end.
 * Figures are formatted as playground/engine/figures.py formats them. */
"use strict";
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const SPEEDS = [["1×", 1], ["2×", 2], ["10×", 10], ["instant", 0]];
  const STATUS = {ok: "done", error: "error", cancelled: "cancelled", interrupted: "interrupted",
                  running: "unfinished", waiting: "waiting", replaying: "replaying"};
  const LOWER_IS_BETTER = {ttft_ms: true, total_ms: true, tokens_per_s: false, cost_usd: true};
  const COLOURS = 8;
  const RACE_POINTS = 200;  // per lane: the curve's shape at chart size
  const source = document.getElementById("playground-session") || document.getElementById("playground-blind");
  const blind = source.id === "playground-blind";
  const doc = JSON.parse(source.dataset.encoding === "base64" ? fromBase64(source.textContent) : source.textContent);
  let speed = 2;
  const rendered = new Map();  // "turn/lane" -> its .answer-md element (storage/html.py: answers_html)
  document.querySelectorAll("#rendered > .answer-md").forEach((md) => {
    rendered.set(`${md.dataset.turn}/${md.dataset.lane}`, md);
  });

  // ---- small helpers -------------------------------------------------------------------------
  // storage/html.py embeds a document whose JSON would grow too much in escapes as base64 of its UTF-8
  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let k = 0; k < binary.length; k++) bytes[k] = binary.charCodeAt(k);
    return new TextDecoder("utf-8", {fatal: true}).decode(bytes);
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  const num = (v) => typeof v === "number" && isFinite(v);
  const fmtMs = (v) => !num(v) ? "—" : v < 10000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(1)} s`;
  const fmtRate = (v) => !num(v) ? "—" : `${v.toFixed(1)} tok/s`;
  const fmtTokens = (v) => !num(v) ? "—" : `${v} tok`;
  const fmtCost = (v) => !num(v) ? "$?" : v === 0 ? "$0" : v >= 0.0001 ? `$${v.toFixed(4)}` : `$${v.toExponential(2)}`;
  const fmtClock = (s) => `${Math.max(0, s).toFixed(2)} s`;
  const FIGURES = [["ttft_ms", "TTFT", fmtMs], ["total_ms", "total", fmtMs], ["output_tokens", "tokens", fmtTokens],
                   ["tokens_per_s", "rate", fmtRate], ["cost_usd", "cost", fmtCost],
                   ["input_tokens", "input", fmtTokens], ["queue_ms", "queued", fmtMs], ["load_ms", "load", fmtMs]];
  const OPTIONAL = new Set(["input_tokens", "queue_ms", "load_ms"]);  // shown where present (and > 0)

  function laneName(o, i) {
    if (blind) return `Model ${String.fromCharCode(65 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ""}`;
    return o.label || o.model || `lane ${i + 1}`;
  }
  function laneTag(o) {
    if (o.warmup) return "warm-up, not counted";
    return o.repeat !== undefined && o.repeat !== null ? `run ${o.repeat}` : "";
  }

  // The best lane of each figure among the ok outputs of a turn (2 or more; no mark on a tie of all).
  function bestLanes(outputs) {
    const best = {};
    const ok = outputs.map((o, i) => [i, o.metrics || {}]).filter(([i]) => outputs[i].status === "ok");
    if (ok.length < 2) return best;
    for (const [name, lower] of Object.entries(LOWER_IS_BETTER)) {
      const values = ok.filter(([, m]) => num(m[name])).map(([i, m]) => [i, m[name]]);
      if (values.length < 2) continue;
      const pick = lower ? Math.min(...values.map((v) => v[1])) : Math.max(...values.map((v) => v[1]));
      if (values.every(([, v]) => v === pick)) continue;
      best[name] = new Set(values.filter(([, v]) => v === pick).map(([i]) => i));
    }
    return best;
  }

  function notes(m) {
    const out = [];
    const c = m.contention || {};
    if (c.waited_for && c.waited_for.length) out.push("waited for " + c.waited_for.join(", "));
    if (c.shared_with && c.shared_with.length) out.push("shared with " + c.shared_with.join(", "));
    if (c.threads) out.push(`${c.threads} threads`);
    if (m.prompt_cache_hit) out.push("prompt cache hit: TTFT not the model's cold figure");
    if ((m.load_ms || 0) > 0) out.push("load not in TTFT");
    if ((m.retry_ms || 0) > 0) out.push(`retried ${fmtMs(m.retry_ms)} (in total, not in TTFT)`);
    return out;
  }

  // ---- the schedule: (seconds from the turn's start, lane, chunk or null for the lane's end) ----
  // As playground/web/replay.py: each chunk at its recorded time after the lane's queue and load
  // waits and failed attempts (playground/engine/figures.py's answer_start_ms); a timeline shorter than its text puts the rest at its last time. Rounds of a repeated
  // turn (and its warm-up) ran one after another, so each starts where the one before ended.
  function rounds(outputs) {
    const groups = [];
    let key = null;
    outputs.forEach((o, i) => {
      const k = o.warmup ? "warm-up" : String(o.repeat);
      if (!groups.length || k !== key) groups.push([]);
      groups[groups.length - 1].push(i);
      key = k;
    });
    return groups;
  }

  const answerStart = (m) => ((m.queue_ms || 0) + (m.load_ms || 0) + (m.retry_ms || 0)) / 1000;
  const laneEnd = (m) => ((m.queue_ms || 0) + (m.load_ms || 0) + (m.total_ms || 0)) / 1000;  // total from the first try

  function schedule(outputs) {
    const items = [];
    const starts = new Array(outputs.length).fill(0);
    const ends = new Array(outputs.length).fill(0);
    let start = 0;
    for (const lanes of rounds(outputs)) {
      let roundEnd = start;
      for (const i of lanes) {
        const o = outputs[i];
        const m = o.metrics || {};
        const offset = start + answerStart(m);
        const chars = Array.from(o.text || "");  // timelines count characters (code points)
        let pos = 0, last = offset;
        for (const [ms, n] of o.timeline || []) {
          last = offset + ms / 1000;
          items.push([last, i, chars.slice(pos, pos + n).join("")]);
          pos += n;
        }
        if (pos < chars.length) items.push([last, i, chars.slice(pos).join("")]);
        const end = Math.max(start + laneEnd(m), last);
        items.push([end, i, null]);
        starts[i] = start;
        ends[i] = end;
        roundEnd = Math.max(roundEnd, end);
      }
      start = roundEnd;
    }
    items.sort((a, b) => (a[0] - b[0]) || ((a[2] === null) - (b[2] === null)));
    return {items, starts, ends, duration: start};
  }

  // ---- the race chart: characters over time per lane, inline SVG -------------------------------
  function series(outputs, plan) {
    return outputs.map((o, i) => {
      const m = o.metrics || {};
      const offset = plan.starts[i] + answerStart(m);
      const points = [[offset, 0]];
      let total = 0;
      for (const [ms, n] of o.timeline || []) { total += n; points.push([offset + ms / 1000, total]); }
      const step = Math.max(1, Math.ceil((points.length - 1) / (RACE_POINTS - 1)));
      const kept = points.filter((_, k) => k % step === 0);
      if ((points.length - 1) % step) kept.push(points[points.length - 1]);
      return kept;
    });
  }

  function ticks(top, count) {
    if (top <= 0) return [0];
    const raw = top / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw);
    const out = [];
    for (let v = 0; v <= top + step * 1e-9; v += step) out.push(+v.toFixed(6));
    return out;
  }

  function drawRace(view) {
    const width = Math.max(280, Math.round(view.chartBox.clientWidth || 640));
    const height = width < 500 ? 180 : 220;
    const left = 46, right = 10, top = 10, bottom = 30;
    const lines = view.lines;
    const T = Math.max(view.plan.duration, 0.001);
    const C = Math.max(1, ...lines.map((p) => p[p.length - 1][1]));
    const x = (t) => left + (t / T) * (width - left - right);
    const y = (c) => height - bottom - (c / C) * (height - top - bottom);
    const root = svg("svg", {viewBox: `0 0 ${width} ${height}`, width, height, class: "race-svg", role: "img",
                             "aria-label": "The race: characters streamed over time, per lane"});
    const clipId = `clip-${view.index}`;
    const clip = svg("clipPath", {id: clipId});
    view.clipRect = svg("rect", {x: 0, y: 0, width, height});
    clip.appendChild(view.clipRect);
    root.appendChild(clip);
    for (const t of ticks(T, width < 500 ? 3 : 6)) {
      root.appendChild(svg("line", {x1: x(t), x2: x(t), y1: top, y2: height - bottom, class: "grid"}));
      root.appendChild(svg("text", {x: x(t), y: height - bottom + 16, class: "tick", "text-anchor": "middle"}, `${t} s`));
    }
    for (const c of ticks(C, 4)) {
      root.appendChild(svg("line", {x1: left, x2: width - right, y1: y(c), y2: y(c), class: "grid"}));
      root.appendChild(svg("text", {x: left - 6, y: y(c) + 4, class: "tick", "text-anchor": "end"}, c));
    }
    root.appendChild(svg("text", {x: width - right, y: height - 4, class: "tick", "text-anchor": "end"}, "seconds"));
    const curves = svg("g", {"clip-path": `url(#${clipId})`});
    lines.forEach((p, i) => {
      const line = svg("polyline", {points: p.map(([t, c]) => `${x(t).toFixed(1)},${y(c).toFixed(1)}`).join(" "),
                                    class: `curve c${i % COLOURS}`});
      line.appendChild(svg("title", {}, laneName(view.outputs[i], i)));
      curves.appendChild(line);
    });
    root.appendChild(curves);
    view.cursor = svg("line", {x1: left, x2: left, y1: top, y2: height - bottom, class: "cursor"});
    root.appendChild(view.cursor);
    view.scale = {x, left, width};
    view.chartBox.replaceChildren(root);
    showTime(view, view.replay ? view.replay.now : null);
  }

  function showTime(view, now) {  // the chart up to `now` seconds (null: the whole race)
    if (!view.scale) return;
    const {x, width, left} = view.scale;
    const at = now === null ? width : x(Math.min(now, view.plan.duration));
    view.clipRect.setAttribute("width", String(Math.max(0, at)));
    view.cursor.setAttribute("x1", String(at));
    view.cursor.setAttribute("x2", String(at));
    view.cursor.setAttribute("visibility", now === null ? "hidden" : "visible");
    if (at < left) view.cursor.setAttribute("visibility", "hidden");
  }

  // ---- a lane ---------------------------------------------------------------------------------
  function figuresOf(o, i, best) {
    const m = o.metrics || {};
    const box = el("div", "figs");
    if (blind) { box.appendChild(el("span", "fig", "figures after the vote")); return box; }
    const estimated = new Set(m.estimated || []);
    for (const [key, title, fmt] of FIGURES) {
      if (OPTIONAL.has(key) && !(num(m[key]) && m[key] > 0)) continue;
      const isBest = best[key] && best[key].has(i);
      const fig = el("span", isBest ? "fig best" : "fig");
      fig.dataset.figure = key;
      fig.appendChild(el("b", "", title));
      fig.appendChild(document.createTextNode(` ${estimated.has(key) ? "~" : ""}${fmt(m[key])}${isBest ? " ★" : ""}`));
      if (estimated.has(key)) fig.title = "estimated";
      box.appendChild(fig);
    }
    return box;
  }

  function laneCard(o, i, best, turnIndex) {
    const card = el("article", `lane c${i % COLOURS}`);
    card.dataset.lane = String(i);
    const head = el("header", "lane-head");
    head.appendChild(el("i", "swatch"));
    head.appendChild(el("b", "lane-name", laneName(o, i)));
    if (laneTag(o)) head.appendChild(el("span", "lane-tag", laneTag(o)));
    const badge = el("span", "badge");
    const clock = el("span", "clock");
    clock.title = "time from the start of the lane's round";
    head.append(badge, clock);
    card.appendChild(head);
    if (!blind && o.label && o.model) card.appendChild(el("div", "lane-model muted", o.model));
    if (!blind && o.reasoning) {
      const r = el("details", "reasoning");
      r.append(el("summary", "", "reasoning"), el("div", "prose", o.reasoning));
      card.appendChild(r);
    }
    const answer = el("div", "answer");
    // The answer as written is one text node the replay appends to. Per-token data (a `tokens` field
    // on the output, not recorded yet) would be drawn here as shaded spans, built with textContent too.
    const raw = el("div", "answer-raw prose");
    const text = document.createTextNode(o.text || "");
    raw.appendChild(text);
    answer.appendChild(raw);
    const md = rendered.get(`${turnIndex}/${i}`);
    if (md) { answer.appendChild(md); answer.classList.add("has-md"); }
    card.appendChild(answer);
    const after = el("div", "after");
    after.appendChild(figuresOf(o, i, best));
    const m = o.metrics || {};
    if (!blind && notes(m).length) after.appendChild(el("div", "notes muted", notes(m).join(" · ")));
    if (o.error) {
      after.appendChild(el("div", "lane-error", blind ? "⚠ the error is shown after the vote"
                                                      : `⚠ ${o.error.type || "error"}: ${o.error.message || ""}`));
    }
    if (!blind) {
      const facts = [];
      if (o.model) facts.push(["model", o.model]);
      if (o.finish_reason) facts.push(["finish", o.finish_reason]);
      for (const [k, v] of Object.entries(o.params || {})) facts.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
      if (facts.length) {
        const more = el("details", "more");
        more.appendChild(el("summary", "", "model and parameters"));
        const dl = el("dl", "facts");
        for (const [k, v] of facts) dl.append(el("dt", "", k), el("dd", "", v));
        more.appendChild(dl);
        after.appendChild(more);
      }
    }
    card.appendChild(after);
    return {card, text, answer, badge, clock, after, output: o};
  }

  function setStatus(lane, status) {
    if (lane.status === status) return;
    lane.status = status;
    lane.card.dataset.status = status;
    lane.badge.className = `badge st-${status}`;
    lane.badge.textContent = STATUS[status] || status;
  }

  // ---- votes ----------------------------------------------------------------------------------
  function voteText(v, outputs) {
    const name = (i) => laneName(outputs[i] || {}, i);
    const lanes = v.lanes || [];
    if (v.outcome === "a") return `${name(lanes[0])} is better than ${name(lanes[1])}`;
    if (v.outcome === "b") return `${name(lanes[1])} is better than ${name(lanes[0])}`;
    if (v.outcome === "best") return `${name(v.winner)} is the best`;
    if (v.outcome === "tie") return "a tie";
    if (v.outcome === "bothbad") return lanes.length > 2 ? "all are bad" : "both are bad";
    return String(v.outcome);
  }

  function votesBox(turnIndex, outputs, lanes) {
    const mine = (doc.votes || []).filter((v) => v.turn === turnIndex);
    if (!mine.length) return null;
    const box = el("div", "votes");
    for (const v of mine) {
      const judge = v.judge;
      const line = el(judge ? "details" : "p", judge ? "vote judge" : "vote");
      const head = el(judge ? "summary" : "span");
      head.appendChild(el("b", "", judge ? "Judge " : "Vote: "));
      if (judge) { head.appendChild(el("code", "", judge.model)); head.appendChild(document.createTextNode(": ")); }
      head.appendChild(document.createTextNode(voteText(v, outputs) + (v.blind && !judge ? " (cast blind)" : "")));
      line.appendChild(head);
      if (judge) {
        if (judge.reasoning) line.appendChild(el("div", "prose", judge.reasoning));
        if (judge.rubric) line.appendChild(el("div", "muted prose", "Rubric: " + judge.rubric));
      }
      box.appendChild(line);
      const winner = v.outcome === "a" ? v.lanes[0] : v.outcome === "b" ? v.lanes[1] : v.outcome === "best" ? v.winner : null;
      if (!judge && winner !== null && lanes[winner] && !lanes[winner].card.classList.contains("voted")) {
        lanes[winner].card.classList.add("voted");
        lanes[winner].badge.after(el("span", "vote-tag", "voted best"));
      }
    }
    return box;
  }

  // ---- a turn and its replay ------------------------------------------------------------------
  function buildTurn(turn, index, count) {
    const outputs = turn.outputs || [];
    const section = el("section", "turn");
    section.id = `turn-${index}`;
    const head = el("div", "turn-head");
    head.appendChild(el("h2", "", count > 1 ? `Turn ${index + 1}` : "Prompt"));
    const button = el("button", "replay", "▶ Replay");
    button.type = "button";
    const clock = el("span", "turn-clock muted");
    if (outputs.length) head.append(button, clock);
    section.appendChild(head);
    section.appendChild(el("div", "prompt prose", turn.prompt || ""));
    const best = blind ? {} : bestLanes(outputs);
    const grid = el("div", "lanes");
    const lanes = outputs.map((o, i) => laneCard(o, i, best, index));
    lanes.forEach((l) => grid.appendChild(l.card));
    section.appendChild(grid);
    const view = {index, outputs, lanes, plan: schedule(outputs), replay: null, clock, button, section};
    if (outputs.length) {
      view.lines = series(outputs, view.plan);
      const figure = el("figure", "race");
      view.chartBox = el("div", "race-box");
      const caption = el("figcaption", "muted");
      caption.appendChild(el("span", "", "The race: characters streamed over time, from the turn's start. "));
      const legend = el("span", "legend");
      outputs.forEach((o, i) => {
        const item = el("span", `key c${i % COLOURS}`);
        item.appendChild(el("i", "swatch"));
        item.appendChild(el("span", "", `${laneName(o, i)}${laneTag(o) ? " (" + laneTag(o) + ")" : ""}`));
        legend.appendChild(item);
      });
      caption.appendChild(legend);
      figure.append(view.chartBox, caption);
      section.appendChild(figure);
      button.addEventListener("click", () => (view.replay ? finish(view) : play(view)));
    }
    const votes = votesBox(index, outputs, lanes);
    if (votes) section.appendChild(votes);
    finish(view);
    return {section, view};
  }

  function play(view) {
    const started = performance.now();
    const rate = speed;  // a speed chosen mid-replay applies to the next one
    view.replay = {now: 0, next: 0, timer: 0};
    view.button.textContent = "■ Stop";
    view.section.classList.add("replaying");
    for (const lane of view.lanes) {
      lane.text.data = "";
      lane.answer.classList.remove("shown-md");  // the text as written streams; rendered at the end
      lane.after.hidden = true;  // figures once the lane has replayed to its end, as in the page
      lane.ended = false;
      setStatus(lane, "waiting");
    }
    const items = view.plan.items;
    const step = () => {
      const replay = view.replay;
      if (!replay) return;
      replay.now = rate ? ((performance.now() - started) / 1000) * rate : Infinity;
      while (replay.next < items.length && items[replay.next][0] <= replay.now) apply(view, items[replay.next++]);
      if (replay.next >= items.length) { finish(view); return; }
      tick(view, replay.now);
      const wait = ((items[replay.next][0] - replay.now) / rate) * 1000;
      replay.timer = setTimeout(step, Math.max(0, Math.min(wait, 40)));  // clocks run at ~25 frames/s
    };
    step();
  }

  function apply(view, [, i, chunk]) {
    const lane = view.lanes[i];
    if (chunk === null) {
      lane.ended = true;
      lane.after.hidden = false;
      lane.answer.classList.add("shown-md");
      lane.clock.textContent = fmtClock(view.plan.ends[i] - view.plan.starts[i]);
      setStatus(lane, lane.output.status);
    } else {
      lane.text.appendData(chunk);
      setStatus(lane, "replaying");
    }
  }

  function tick(view, now) {
    view.lanes.forEach((lane, i) => {
      if (!lane.ended) lane.clock.textContent = now >= view.plan.starts[i] ? fmtClock(now - view.plan.starts[i]) : "";
    });
    view.clock.textContent = `${fmtClock(Math.min(now, view.plan.duration))} / ${fmtClock(view.plan.duration)}`;
    showTime(view, now);
  }

  function finish(view) {  // the recorded end state: every text, status, figure and clock
    if (view.replay) clearTimeout(view.replay.timer);
    view.replay = null;
    view.button.textContent = "▶ Replay";
    view.section.classList.remove("replaying");
    view.lanes.forEach((lane, i) => {
      if (lane.text.data !== (lane.output.text || "")) lane.text.data = lane.output.text || "";
      lane.answer.classList.add("shown-md");
      lane.after.hidden = false;
      lane.ended = true;
      lane.clock.textContent = fmtClock(view.plan.ends[i] - view.plan.starts[i]);
      setStatus(lane, lane.output.status);
    });
    view.clock.textContent = fmtClock(view.plan.duration);
    showTime(view, null);
  }

  // ---- the page -------------------------------------------------------------------------------
  function header() {
    const title = doc.title || "Untitled session";
    document.title = `${title} · Playground`;
    document.getElementById("title").textContent = title;
    const about = [`session ${doc.id || "?"}`, String(doc.created_at || "").replace("T", " ").replace("Z", " UTC")];
    if (doc.rerun_of) about.push(`re-run of ${doc.rerun_of}`);
    if (doc.tags && doc.tags.length) about.push("tags: " + doc.tags.join(", "));
    document.getElementById("about").textContent = about.join(" · ");
    if (doc.system) {
      document.getElementById("system-text").textContent = doc.system;
      document.getElementById("system").hidden = false;
    }
    if (blind) {
      const note = document.getElementById("blind-note");
      note.textContent = "A blind comparison not voted on yet: the lanes are Model A, Model B, … and this file " +
        "leaves out their names, figures and errors. Vote (playground arena vote " + (doc.id || "ID") +
        " A|B|tie|bothbad), then export it again to see and share them.";
      note.hidden = false;
    }
    const speeds = document.getElementById("speeds");
    for (const [label, value] of SPEEDS) {
      const option = el("label", "speed");
      const input = el("input");
      input.type = "radio";
      input.name = "speed";
      input.value = label;
      input.checked = value === speed;
      input.addEventListener("change", () => { speed = value; });
      option.append(input, document.createTextNode(label));
      speeds.appendChild(option);
    }
    document.getElementById("toolbar").hidden = false;
    document.getElementById("footer").textContent = blind
      ? "Exported from Playground. A blind file holds no session document: it cannot be imported."
      : "Exported from Playground (playground.session/1). `playground sessions import THIS_FILE` imports the session back.";
  }

  header();
  const main = document.getElementById("turns");
  main.replaceChildren();
  const turns = doc.turns || [];
  const views = turns.map((turn, i) => {
    const {section, view} = buildTurn(turn, i, turns.length);
    main.appendChild(section);
    return view;
  });
  if (!turns.length) main.appendChild(el("p", "muted", "This session has no turns."));
  const redraw = () => views.forEach((v) => v.chartBox && drawRace(v));
  redraw();
  let pending = 0;
  window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(redraw, 150); });
  let closed = [];  // a print shows everything: the recorded end state, every <details> open
  window.addEventListener("beforeprint", () => {
    views.forEach(finish);
    closed = [...document.querySelectorAll("details:not([open])")];
    closed.forEach((d) => { d.open = true; });
  });
  window.addEventListener("afterprint", () => { closed.forEach((d) => { d.open = false; }); closed = []; });
})();
