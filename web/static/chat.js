// The chat page, progressively enhanced: without this script the form posts to / and the server answers at the
// permalink /?q=... . Everything a user or a document supplies goes into the page as text (textContent, append),
// never as HTML.
(() => {
  "use strict";

  const MAX_HISTORY = 10;
  const STORE_KEY = "cmw-assistant-conversation";
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  const FILTER_NAMES = ["document", "session", "date_from", "date_to", "speaker", "kind"];
  const URL_BUDGET = 6000; // as the server's permalinks: older questions drop out of a longer address

  const $ = (selector) => document.querySelector(selector);
  const form = $("#ask-form");
  if (!form) return;
  const input = $("#question");
  const sendButton = $("#send");
  const conversation = $("#conversation");
  const intro = $("#intro");
  const main = $("#main");
  const status = $("#status");
  const layout = $("#layout");
  const panel = $("#source-panel");
  const panelTitle = $("#panel-title");
  const panelBody = $("#panel-body");
  const historyField = $("#history");
  const problem = $("#question-problem");
  const counter = $("#char-count");
  const jumpButton = $("#jump-latest");
  const preview = $("#preview");
  const filterCount = $("#filter-count");
  const maxChars = Number(input.dataset.max) || 2000;
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  const citationOf = new WeakMap(); // element -> the citation it shows
  let history = parseJSON(historyField.value, []);
  let answers = []; // answer objects of this conversation, kept in sessionStorage to survive a visit to the reader
  let busy = false;
  let panelTrigger = null;

  // ---- small helpers ----

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== "") node.append(child); // strings become text nodes
    }
    return node;
  }

  function parseJSON(text, fallback) {
    try {
      const value = JSON.parse(text || "");
      return value && typeof value === "object" ? value : fallback;
    } catch {
      return fallback;
    }
  }

  function formatDate(iso) {
    if (!iso) return "";
    const [year, month, day] = String(iso).split("-");
    const monthName = MONTHS[Number(month) - 1];
    if (day && monthName) return `${Number(day)} ${monthName} ${year}`;
    if (monthName) return `${monthName} ${year}`;
    return String(iso);
  }

  function ordinal(n) {
    const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    return `${n}${suffix}`;
  }

  function confidenceWords(value) {
    if (typeof value !== "number") return "";
    const words = value >= 0.7 ? "likely answered" : value >= 0.4 ? "possibly answered" : "probably not answered";
    return `${words} (${value.toFixed(2)})`;
  }

  function speakerLine(c) {
    if (c.speaker && c.affiliation) return `${c.speaker} (${c.affiliation})`;
    return c.speaker || c.affiliation || "";
  }

  function metaParts(c) {
    return [speakerLine(c), formatDate(c.date), c.session || "", c.meeting ? `${ordinal(c.meeting)} meeting` : ""]
      .filter(Boolean);
  }

  function readerLink(c) {
    const base = `/documents/${encodeURIComponent(c.doc_id)}`;
    const query = c.quote ? `?${new URLSearchParams({ quote: c.quote, anchor: c.anchor })}` : "";
    return `${base}${query}#${encodeURIComponent(c.anchor)}`;
  }

  // The text with the first occurrence of quote inside <mark>, as nodes.
  function marked(text, quote) {
    const start = quote ? text.indexOf(quote) : -1;
    if (start < 0) return [text];
    return [text.slice(0, start), el("mark", {}, quote), text.slice(start + quote.length)];
  }

  function shorten(text, limit) {
    return text.length <= limit ? text : `${text.slice(0, limit).split(" ").slice(0, -1).join(" ")} …`;
  }

  // ---- filters and permalinks ----

  function chosenFilters() {
    const filters = {};
    for (const name of FILTER_NAMES) {
      const fields = [...form.elements].filter((field) => field.name === name);
      const values = fields.filter((f) => f.type !== "checkbox" || f.checked).map((f) => f.value.trim()).filter(Boolean);
      if (!values.length) continue;
      if (name === "document" || name === "kind") filters[name] = values;
      else filters[name] = values[0];
    }
    return filters;
  }

  function showFilterCount() {
    const count = Object.keys(chosenFilters()).length;
    filterCount.textContent = count ? `(${count} on)` : "";
  }

  function permalink(question, earlier, filters) {
    const prev = [...earlier];
    for (;;) {
      const params = new URLSearchParams({ q: question });
      prev.forEach((q) => params.append("prev", q));
      for (const [name, value] of Object.entries(filters || {})) {
        (Array.isArray(value) ? value : [value]).forEach((v) => params.append(name, v));
      }
      const query = params.toString();
      if (query.length <= URL_BUDGET || !prev.length) return `/?${query}#latest`;
      prev.shift();
    }
  }

  // ---- rendering an answer ----

  function withMarkers(tag, cls, text, citations) {
    const node = el(tag, { class: cls });
    const byNumber = new Map(citations.map((c) => [c.n, c]));
    let last = 0;
    for (const match of String(text).matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
      const numbers = match[1].split(",").map((part) => Number(part.trim()));
      if (!numbers.every((n) => byNumber.has(n))) continue;
      node.append(text.slice(last, match.index).replace(/ $/, "\u00a0")); // keep [n] on its claim's line
      for (const n of numbers) node.append(marker(byNumber.get(n)));
      last = match.index + match[0].length;
    }
    node.append(text.slice(last));
    return node;
  }

  function marker(c) {
    const button = el("button", { type: "button", class: "marker", "aria-label": `Source ${c.n}: ${c.label}` }, `[${c.n}]`);
    citationOf.set(button, c);
    return button;
  }

  function sourceItem(c, id, numbered) {
    const link = el("a", { class: "source-link", href: readerLink(c) }, c.label);
    citationOf.set(link, c);
    const meta = el("p", { class: "source-meta" }, ...metaParts(c).map((part) => el("span", {}, part)));
    const main = el("div", { class: "source-main" }, link, meta);
    if (numbered && c.quote) {
      main.append(el("blockquote", { class: "source-quote" }, el("p", {}, c.quote)));
      if (c.text && c.text.length > c.quote.length + 40) {
        main.append(el("details", { class: "source-more" }, el("summary", {}, "The whole paragraph"),
          el("p", { class: "source-text" }, ...marked(c.text, c.quote))));
      }
    } else {
      main.append(el("p", { class: "source-excerpt" }, shorten(c.text || c.quote || "", 260)));
    }
    const number = numbered ? el("span", { class: "source-n", "aria-hidden": "true" }, String(c.n)) : null;
    return el("li", { class: numbered ? "source" : "source source-related", id }, number, main);
  }

  function sources(data, turnNumber) {
    const nodes = [];
    const cited = data.citations || [];
    if (cited.length) {
      const list = el("ol", { class: "sources" });
      cited.forEach((c) => list.append(sourceItem(c, `t${turnNumber}-src-${c.n}`, true)));
      nodes.push(el("h3", { class: "sources-title" }, "Sources ", el("span", { class: "count" }, `(${cited.length})`)), list);
    }
    const related = data.related || [];
    if (related.length) {
      const list = el("ol", { class: "sources" });
      related.forEach((c, i) => list.append(sourceItem(c, `t${turnNumber}-rel-${i + 1}`, false)));
      const title = data.abstained ? "Related passages you could read" : "Related passages, not cited";
      nodes.push(el("details", { class: "related", open: Boolean(data.abstained) },
        el("summary", { class: "sources-title" }, `${title} `, el("span", { class: "count" }, `(${related.length})`)),
        list));
    }
    return nodes;
  }

  function parts(data, citations) {
    if (!Array.isArray(data.parts) || !data.parts.length) return null;
    const list = el("ul", { class: "answer-parts" });
    for (const part of data.parts) {
      const item = el("li", { class: part.answered ? "part is-answered" : "part" },
        el("span", { class: "part-status" }, part.answered ? "Answered:" : "Not in the records:"), " ",
        el("span", { class: "part-question" }, part.question || ""));
      if (part.direct) item.append(" ", withMarkers("span", "part-direct", part.direct, citations));
      list.append(item);
    }
    return list;
  }

  function answerSection(data, turnNumber) {
    const citations = data.citations || [];
    const kicker = el("p", { class: "answer-kicker", id: `t${turnNumber}-a` },
      data.abstained ? "No answer in the records" : "Answer");
    const sure = confidenceWords(data.confidence);
    if (sure) kicker.append(" ", el("span", { class: "confidence" }, `· ${sure}`));
    const section = el("section", { class: data.abstained ? "answer abstained" : "answer",
      "aria-labelledby": `t${turnNumber}-a` }, kicker);
    if (data.direct) section.append(withMarkers("p", "answer-direct", data.direct, citations));
    const partList = parts(data, citations);
    if (partList) section.append(partList);
    section.append(withMarkers("p", data.direct ? "answer-text answer-detail" : "answer-text", data.answer || "", citations));
    if (data.notice) section.append(el("p", { class: "notice" }, data.notice));
    const copy = el("button", { type: "button", class: "button button-quiet button-small copy-answer" }, "Copy answer with citations");
    copy.addEventListener("click", () => copyText(answerAsText(data), copy, "Copy answer with citations", "answer"));
    const actions = el("div", { class: "answer-actions" }, copy);
    if (data.permalink) {
      actions.append(el("a", { class: "button button-quiet button-small permalink", href: data.permalink }, "Link to this answer"));
    }
    section.append(actions, ...sources(data, turnNumber));
    return section;
  }

  // The answer as plain text a user can paste: the question, the answer with [n], then each source.
  function answerAsText(data) {
    const lines = [`Q: ${data.question}`, ""];
    if (data.direct) lines.push(data.direct, "");
    lines.push(data.answer || "");
    const cited = data.citations || [];
    if (cited.length) lines.push("");
    for (const c of cited) {
      const meta = metaParts(c).join(", ");
      lines.push(`[${c.n}] ${c.label}${meta ? ` (${meta})` : ""}${c.quote ? `: “${c.quote}”` : ""}`);
    }
    if (data.permalink) lines.push("", new URL(data.permalink, window.location.href).href);
    return lines.join("\n");
  }

  function newTurn(question) {
    const number = conversation.querySelectorAll(".turn").length + 1;
    const article = el("article", { class: "turn", id: `turn-${number}`, "aria-labelledby": `t${number}-q` },
      el("h2", { class: "question-text", id: `t${number}-q` }, question));
    conversation.append(article);
    return { article, number };
  }

  function loading() {
    return el("div", { class: "answer loading", "aria-busy": "true" },
      el("span", { class: "dots", "aria-hidden": "true" }, el("span"), el("span"), el("span")),
      "Searching the records…");
  }

  function showAnswer(data) {
    const turn = newTurn(data.question);
    turn.article.append(answerSection(data, turn.number));
    return turn.article;
  }

  // ---- scrolling: the new turn at the top of the visible area, clear of the sticky header and question box ----

  function bringToTop(node) {
    node.scrollIntoView({ block: "start", behavior: reduceMotion ? "auto" : "smooth" });
  }

  function latestTurn() {
    const turns = conversation.querySelectorAll(".turn");
    return turns[turns.length - 1] || null;
  }

  // "Jump to the latest answer" shows while the latest question is below the visible area (the user scrolled up).
  function updateJump() {
    const turn = latestTurn();
    if (!turn) {
      jumpButton.hidden = true;
      return;
    }
    const question = turn.querySelector(".question-text").getBoundingClientRect();
    const composerTop = form.getBoundingClientRect().top;
    jumpButton.hidden = question.top < composerTop - 8;
  }

  let jumpQueued = false;
  function queueJumpUpdate() {
    if (jumpQueued) return;
    jumpQueued = true;
    requestAnimationFrame(() => {
      jumpQueued = false;
      updateJump();
    });
  }

  // ---- asking ----

  function errorMessage(data, response) {
    if (data && typeof data.message === "string" && data.message) return data.message;
    if (data && typeof data.detail === "string") return data.detail;
    if (data && Array.isArray(data.detail)) return data.detail.map((d) => d.msg).join("; ");
    if (response.status >= 500) return `the server failed (${response.status} ${response.statusText}); try again`;
    return `the server answered ${response.status} ${response.statusText}`;
  }

  // fetch() rejects with a TypeError when the server cannot be reached at all.
  function describeFailure(error) {
    if (error instanceof TypeError) return "the server could not be reached; check the connection and try again";
    return error.message || String(error);
  }

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "question-problem composer-hint");
    } else {
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "composer-hint");
    }
  }

  function dropFailedTurns() {
    conversation.querySelectorAll(".turn.failed").forEach((node) => node.remove());
  }

  async function ask(raw, retryTurn = null) {
    const question = raw.trim();
    if (busy) return;
    if (!question) {
      showProblem("Type a question first, e.g. “Who chaired the 590th meeting?”");
      input.focus();
      return;
    }
    if (question.length > maxChars) {
      showProblem(`The question is ${question.length} characters long; the limit is ${maxChars}: shorten it by ${question.length - maxChars}.`);
      input.focus();
      return;
    }
    showProblem("");
    busy = true;
    sendButton.disabled = true;
    intro.hidden = true;
    main.classList.add("has-turns");
    const filters = chosenFilters();
    $("#filters").open = false; // the count beside "Filters" still says which are on; the answer needs the room
    let turn;
    if (retryTurn) {
      retryTurn.classList.remove("failed");
      retryTurn.querySelector(".answer").remove();
      turn = { article: retryTurn, number: conversation.querySelectorAll(".turn").length };
    } else {
      dropFailedTurns();
      turn = newTurn(question);
    }
    const placeholder = loading();
    turn.article.append(placeholder);
    bringToTop(turn.article);
    if (!retryTurn) input.value = "";
    resizeInput();
    showCount();
    status.textContent = "Searching the records…";

    const body = { question, history: history.slice(-MAX_HISTORY) };
    if (Object.keys(filters).length) body.filters = filters;
    try {
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (!response.ok || !data || typeof data.answer !== "string") throw new Error(errorMessage(data, response));
      data.permalink = permalink(question, answers.map((a) => a.question), filters);
      placeholder.replaceWith(answerSection(data, turn.number));
      remember(data);
      const sourcesCount = (data.citations || []).length;
      status.textContent = data.abstained
        ? "The records do not answer this question; related passages are listed."
        : `Answer ready, with ${sourcesCount} source${sourcesCount === 1 ? "" : "s"}.${data.direct ? ` ${shorten(data.direct.replace(/\s*\[[\d,\s]+\]/g, ""), 200)}` : ""}`;
      input.focus({ preventScroll: true });
    } catch (error) {
      turn.article.classList.add("failed");
      const retry = el("button", { type: "button", class: "button button-primary retry" }, "Retry");
      retry.addEventListener("click", () => ask(question, turn.article));
      const edit = el("button", { type: "button", class: "button button-quiet edit" }, "Edit the question");
      edit.addEventListener("click", () => {
        turn.article.remove();
        input.value = question;
        resizeInput();
        showCount();
        input.focus();
        updateJump();
      });
      placeholder.replaceWith(el("div", { class: "answer error", role: "alert" },
        el("p", { class: "error-text" }, `Could not answer: ${describeFailure(error)}`),
        el("p", { class: "error-actions" }, retry, edit)));
      status.textContent = "";
      retry.focus({ preventScroll: true });
    } finally {
      busy = false;
      sendButton.disabled = false;
      queueJumpUpdate();
    }
  }

  function remember(data) {
    const citations = (data.citations || []).map(({ text, ...rest }) => rest); // the texts stay on the server
    history = [...history, { question: data.question, answer: data.answer, citations }].slice(-MAX_HISTORY);
    historyField.value = JSON.stringify(history);
    answers = [...answers, data].slice(-MAX_HISTORY);
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(answers));
    } catch {
      // storage full or disabled: the conversation just will not survive a reload
    }
  }

  // A page the server answered (a permalink, or the form without this script) carries each answer in
  // data-answer: render it as answers asked here are, and keep it as this conversation.
  function adoptServerTurns() {
    const served = [...conversation.querySelectorAll(".turn[data-answer]")];
    if (!served.length) return false;
    history = [];
    answers = [];
    for (const article of served) {
      const data = parseJSON(article.dataset.answer, null);
      if (!data || typeof data.question !== "string") continue;
      const number = Number(article.id.replace("turn-", ""));
      const section = article.querySelector(".answer");
      if (section) section.replaceWith(answerSection(data, number));
      article.removeAttribute("data-answer");
      remember(data);
    }
    return true;
  }

  function restore() {
    if (adoptServerTurns() || conversation.querySelector(".turn")) return;
    let saved = [];
    try {
      saved = parseJSON(sessionStorage.getItem(STORE_KEY), []);
    } catch {
      return;
    }
    for (const data of Array.isArray(saved) ? saved : []) {
      if (!data || typeof data.question !== "string") continue;
      showAnswer(data);
      remember(data);
    }
    if (answers.length) {
      intro.hidden = true;
      main.classList.add("has-turns");
    }
  }

  function startAfresh() {
    history = [];
    answers = [];
    historyField.value = "[]";
    try {
      sessionStorage.removeItem(STORE_KEY);
    } catch {
      // nothing stored
    }
    closePanel(false);
    hidePreview();
    conversation.replaceChildren();
    intro.hidden = false;
    main.classList.remove("has-turns");
    input.value = "";
    showProblem("");
    showCount();
    if (window.location.search) window.history.replaceState(null, "", "/"); // a reload stays new
    window.scrollTo({ top: 0 });
    jumpButton.hidden = true;
    status.textContent = "Started a new conversation.";
    input.focus();
  }

  // ---- the question box: grows with its text, counts characters near the limit ----

  function resizeInput() {
    if (CSS.supports("field-sizing", "content")) return; // the stylesheet sizes it
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  }

  function showCount() {
    const length = input.value.length;
    counter.hidden = length < maxChars * 0.8;
    counter.textContent = `${length.toLocaleString("en")} / ${maxChars.toLocaleString("en")} characters`;
    counter.classList.toggle("over", length > maxChars);
    if (length <= maxChars && problem.textContent.startsWith("The question is")) showProblem("");
  }

  // ---- the [n] preview: the cited label and quote on hover or keyboard focus ----

  let previewFor = null;
  let hideTimer = null;

  function showPreview(target) {
    const c = citationOf.get(target);
    if (!c) return;
    clearTimeout(hideTimer);
    previewFor = target;
    const meta = metaParts(c).join(" · ");
    preview.replaceChildren(el("strong", { class: "preview-label" }, c.label),
      meta ? el("span", { class: "preview-meta" }, meta) : null,
      el("span", { class: "preview-quote" }, shorten(c.quote || c.text || "", 320)));
    preview.hidden = false;
    target.setAttribute("aria-describedby", "preview");
    const box = target.getBoundingClientRect();
    const width = preview.offsetWidth;
    const left = Math.max(8, Math.min(box.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - width - 8));
    const below = box.bottom + 8 + preview.offsetHeight < window.innerHeight;
    preview.style.left = `${left}px`;
    preview.style.top = `${(below ? box.bottom + 6 : box.top - preview.offsetHeight - 6) + window.scrollY}px`;
  }

  function hidePreview() {
    clearTimeout(hideTimer);
    if (previewFor) previewFor.removeAttribute("aria-describedby");
    previewFor = null;
    preview.hidden = true;
  }

  function hidePreviewSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hidePreview, 250); // time to move the pointer onto the preview itself
  }

  // ---- the source panel ----

  async function openSource(c, trigger) {
    hidePreview();
    panelTrigger = trigger;
    document.querySelectorAll(".is-active").forEach((node) => node.classList.remove("is-active"));
    trigger.classList.add("is-active");
    const item = trigger.closest(".source");
    if (item) item.classList.add("is-active");
    panel.hidden = false;
    layout.classList.add("panel-open");
    panelTitle.textContent = c.label;
    renderPanel(c);
    panelTitle.focus();
    if (!c.text) {
      const url = `/api/documents/${encodeURIComponent(c.doc_id)}/paragraphs/${encodeURIComponent(c.anchor)}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        const passage = response.ok ? await response.json() : null;
        if (passage && panelTrigger === trigger) renderPanel({ ...passage, ...c, text: passage.text });
      } catch {
        // the reader link still works
      }
    }
  }

  function renderPanel(c2) {
    const facts = el("dl", { class: "panel-facts" });
    const addFact = (term, value) => {
      if (value) facts.append(el("dt", {}, term), el("dd", {}, value));
    };
    addFact("Document", c2.document);
    addFact("Paragraph", c2.paragraph);
    addFact("Speaker", speakerLine(c2));
    addFact("Date", formatDate(c2.date));
    addFact("Session", c2.session);
    addFact("Meeting", c2.meeting ? `${ordinal(c2.meeting)} meeting` : "");
    addFact("Section", c2.section);
    const copyButton = el("button", { type: "button", class: "button button-quiet", id: "copy-citation" }, "Copy citation");
    copyButton.addEventListener("click", () => copyText(c2.label, copyButton, "Copy citation", "citation"));
    panelBody.replaceChildren(
      el("p", { class: "panel-doc" }, c2.title || ""),
      el("div", { class: "panel-actions" },
        el("a", { class: "button button-primary", href: readerLink(c2), id: "open-reader" }, "Open in the document"),
        copyButton),
      facts,
      el("p", { class: "panel-text" }, ...(c2.text ? marked(c2.text, c2.quote) : [el("mark", {}, c2.quote || "")])));
  }

  async function copyText(text, button, label, what) {
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      const scratch = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      scratch.value = text;
      document.body.append(scratch);
      scratch.select();
      copied = document.execCommand("copy");
      scratch.remove();
    }
    button.textContent = copied ? "Copied" : "Copy failed";
    status.textContent = copied ? `Copied the ${what}.` : `Could not copy the ${what}.`;
    setTimeout(() => { button.textContent = label; }, 2000);
  }

  function closePanel(returnFocus = true) {
    if (panel.hidden) return;
    panel.hidden = true;
    layout.classList.remove("panel-open");
    document.querySelectorAll(".is-active").forEach((node) => node.classList.remove("is-active"));
    if (returnFocus && panelTrigger && panelTrigger.isConnected) panelTrigger.focus();
  }

  // A source link the server rendered carries what the panel needs in data- attributes.
  function citationFromLink(link) {
    return {
      label: link.textContent.trim(),
      doc_id: link.dataset.doc,
      anchor: link.dataset.anchor,
      quote: link.dataset.quote || null,
    };
  }

  // ---- events ----

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(input.value);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  input.addEventListener("input", () => {
    resizeInput();
    showCount();
    if (problem.textContent && !problem.textContent.startsWith("The question is")) showProblem("");
  });

  for (const type of ["change", "input"]) {
    form.addEventListener(type, (event) => {
      if (FILTER_NAMES.includes(event.target.name)) showFilterCount();
    });
  }

  $("#examples-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.value) ask(event.submitter.value);
  });

  $("#new-conversation").addEventListener("click", (event) => {
    event.preventDefault();
    startAfresh();
  });

  jumpButton.addEventListener("click", () => {
    const turn = latestTurn();
    if (!turn) return;
    bringToTop(turn);
    turn.querySelector(".question-text").setAttribute("tabindex", "-1");
    turn.querySelector(".question-text").focus({ preventScroll: true });
  });

  window.addEventListener("scroll", queueJumpUpdate, { passive: true });
  window.addEventListener("resize", queueJumpUpdate);

  conversation.addEventListener("click", (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // let the browser open a new tab
    const target = event.target.closest(".marker, .source-link");
    if (!target) return;
    const c = citationOf.get(target) || (target.classList.contains("source-link") ? citationFromLink(target) : null);
    if (!c) return; // a server-rendered [n] link: jumping to its source is right
    event.preventDefault();
    openSource(c, target);
  });

  conversation.addEventListener("mouseover", (event) => {
    const target = event.target.closest(".marker");
    if (target && target !== previewFor) showPreview(target);
    else if (target) clearTimeout(hideTimer);
  });
  conversation.addEventListener("mouseout", (event) => {
    if (event.target.closest(".marker")) hidePreviewSoon();
  });
  conversation.addEventListener("focusin", (event) => {
    if (event.target.classList.contains("marker")) showPreview(event.target);
  });
  conversation.addEventListener("focusout", (event) => {
    if (event.target.classList.contains("marker")) hidePreview();
  });
  preview.addEventListener("mouseenter", () => clearTimeout(hideTimer));
  preview.addEventListener("mouseleave", hidePreviewSoon);

  $("#panel-close").addEventListener("click", () => closePanel());
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!preview.hidden) hidePreview(); // the first Escape dismisses the preview, the next closes the panel
    else closePanel();
  });

  $("#composer-hint").textContent = "Enter sends · Shift+Enter for a new line";
  restore();
  resizeInput();
  showCount();
  showFilterCount();
  const latest = latestTurn();
  if (latest && window.location.hash === "#latest") bringToTop(latest);
  updateJump();
})();
