// The chat page, progressively enhanced: without this script the form posts to / and the server renders
// the answer. Everything a user or a document supplies goes into the page as text (textContent, append),
// never as HTML.
(() => {
  "use strict";

  const MAX_HISTORY = 10;
  const STORE_KEY = "cmw-assistant-conversation";
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];

  const $ = (selector) => document.querySelector(selector);
  const form = $("#ask-form");
  if (!form) return;
  const input = $("#question");
  const sendButton = $("#send");
  const conversation = $("#conversation");
  const intro = $("#intro");
  const status = $("#status");
  const layout = $("#layout");
  const panel = $("#source-panel");
  const panelTitle = $("#panel-title");
  const panelBody = $("#panel-body");
  const filter = $("#document-filter");
  const historyField = $("#history");

  const citationOf = new WeakMap(); // element -> the citation it shows
  let history = parseJSON(historyField.value, []);
  let answers = []; // answer objects of this conversation, kept in sessionStorage to survive a visit to the reader
  let busy = false;
  let panelTrigger = null;

  // ---- small DOM helpers ----

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
      return Array.isArray(value) ? value : fallback;
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

  function speakerLine(c) {
    if (c.speaker && c.affiliation) return `${c.speaker} (${c.affiliation})`;
    return c.speaker || c.affiliation || "";
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

  function excerpt(c, context = 110) {
    const text = c.text || "";
    const quote = c.quote || "";
    if (!text) return quote ? [el("mark", {}, quote)] : [];
    const start = quote ? text.indexOf(quote) : -1;
    if (start < 0) return [text.length > 2 * context ? `${text.slice(0, 2 * context)} …` : text];
    let before = text.slice(0, start);
    let after = text.slice(start + quote.length);
    if (before.length > context) before = `… ${before.slice(-context).split(" ").slice(1).join(" ")}`;
    if (after.length > context) after = `${after.slice(0, context).split(" ").slice(0, -1).join(" ")} …`;
    return [before, el("mark", {}, quote), after];
  }

  // ---- rendering an answer ----

  function answerText(text, citations) {
    const paragraph = el("p", { class: "answer-text" });
    const byNumber = new Map(citations.map((c) => [c.n, c]));
    let last = 0;
    for (const match of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
      const numbers = match[1].split(",").map((part) => Number(part.trim()));
      if (!numbers.every((n) => byNumber.has(n))) continue;
      paragraph.append(text.slice(last, match.index).replace(/ $/, "\u00a0")); // keep [n] on its claim's line
      for (const n of numbers) paragraph.append(marker(byNumber.get(n)));
      last = match.index + match[0].length;
    }
    paragraph.append(text.slice(last));
    return paragraph;
  }

  function marker(c) {
    const button = el("button", { type: "button", class: "marker", "aria-label": `Source ${c.n}: ${c.label}` }, `[${c.n}]`);
    citationOf.set(button, c);
    return button;
  }

  function sourceItem(c, id, numbered) {
    const link = el("a", { class: "source-link", href: readerLink(c) }, c.label);
    citationOf.set(link, c);
    const who = speakerLine(c);
    const meta = el("p", { class: "source-meta" },
      who ? el("span", { class: "source-speaker" }, who) : null,
      c.date ? el("span", { class: "source-date" }, formatDate(c.date)) : null);
    const main = el("div", { class: "source-main" }, link, meta, el("p", { class: "source-excerpt" }, ...excerpt(c)));
    const number = numbered ? el("span", { class: "source-n", "aria-hidden": "true" }, String(c.n)) : null;
    return el("li", { class: "source", id }, number, main);
  }

  function sourceList(title, citations, idPrefix, numbered) {
    if (!citations.length) return [];
    const list = el("ol", { class: numbered ? "sources" : "sources related" });
    citations.forEach((c, i) => list.append(sourceItem(c, `${idPrefix}-${numbered ? c.n : i + 1}`, numbered)));
    return [el("h3", { class: "sources-title" }, title), list];
  }

  function answerSection(data, turnNumber) {
    const section = el("section", { class: data.abstained ? "answer abstained" : "answer", "aria-label": "Answer" });
    section.append(el("p", { class: "answer-kicker" }, data.abstained ? "No answer in the records" : "Answer"));
    section.append(answerText(data.answer || "", data.citations || []));
    if (data.notice) section.append(el("p", { class: "notice" }, data.notice));
    section.append(...sourceList("Sources", data.citations || [], `t${turnNumber}-src`, true));
    section.append(...sourceList(data.abstained ? "Related passages you could read" : "Related passages",
      data.related || [], `t${turnNumber}-rel`, false));
    return section;
  }

  function newTurn(question) {
    const number = conversation.querySelectorAll(".turn").length + 1;
    const article = el("article", { class: "turn", id: `turn-${number}`, "aria-labelledby": `t${number}-q` },
      el("div", { class: "question-bubble" },
        el("h2", { class: "visually-hidden" }, "Question"),
        el("p", { class: "question-text", id: `t${number}-q` }, question)));
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
  }

  // ---- asking ----

  function errorMessage(data, response) {
    if (data && typeof data.message === "string" && data.message) return data.message;
    if (data && typeof data.detail === "string") return data.detail;
    if (data && Array.isArray(data.detail)) return data.detail.map((d) => d.msg).join("; ");
    return `the server answered ${response.status} ${response.statusText}`;
  }

  async function ask(raw) {
    const question = raw.trim();
    if (busy) return;
    if (!question) {
      status.textContent = "Type a question first.";
      input.focus();
      return;
    }
    busy = true;
    sendButton.disabled = true;
    intro.hidden = true;
    const turn = newTurn(question);
    const placeholder = loading();
    turn.article.append(placeholder);
    turn.article.scrollIntoView({ block: "end", behavior: "smooth" });
    input.value = "";
    status.textContent = "Searching the records…";

    const body = { question, history: history.slice(-MAX_HISTORY) };
    if (filter && filter.value) body.filters = { document: [filter.value] };
    try {
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (!response.ok || !data) throw new Error(errorMessage(data, response));
      placeholder.replaceWith(answerSection(data, turn.number));
      remember(data);
      status.textContent = data.abstained ? "The records do not answer this question." : "Answer ready.";
    } catch (error) {
      placeholder.replaceWith(el("div", { class: "answer error", role: "alert" },
        `Could not answer: ${error.message || error}`));
      input.value = question; // let the user edit and send again
      status.textContent = "";
    } finally {
      busy = false;
      sendButton.disabled = false;
      input.focus();
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

  function restore() {
    if (conversation.querySelector(".turn")) return; // the server rendered this conversation (no-JS post)
    let saved = [];
    try {
      saved = parseJSON(sessionStorage.getItem(STORE_KEY), []);
    } catch {
      return;
    }
    for (const data of saved) {
      if (!data || typeof data.question !== "string") continue;
      showAnswer(data);
      remember(data);
    }
    if (answers.length) intro.hidden = true;
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
    conversation.replaceChildren();
    intro.hidden = false;
    input.value = "";
    status.textContent = "Started a new conversation.";
    input.focus();
  }

  // ---- the source panel ----

  async function openSource(c, trigger) {
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
    addFact("Section", c2.section);
    const copyButton = el("button", { type: "button", class: "button button-quiet", id: "copy-citation" }, "Copy citation");
    copyButton.addEventListener("click", () => copyCitation(c2.label, copyButton));
    panelBody.replaceChildren(
      el("p", { class: "panel-doc" }, c2.title || ""),
      el("div", { class: "panel-actions" },
        el("a", { class: "button button-primary", href: readerLink(c2), id: "open-reader" }, "Open in the document"),
        copyButton),
      facts,
      el("p", { class: "panel-text" }, ...(c2.text ? marked(c2.text, c2.quote) : [el("mark", {}, c2.quote || "")])));
  }

  async function copyCitation(label, button) {
    let copied = false;
    try {
      await navigator.clipboard.writeText(label);
      copied = true;
    } catch {
      const scratch = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      scratch.value = label;
      document.body.append(scratch);
      scratch.select();
      copied = document.execCommand("copy");
      scratch.remove();
    }
    button.textContent = copied ? "Copied" : "Copy failed";
    status.textContent = copied ? `Copied the citation ${label}` : "Could not copy the citation.";
    setTimeout(() => { button.textContent = "Copy citation"; }, 2000);
  }

  function closePanel(returnFocus = true) {
    if (panel.hidden) return;
    panel.hidden = true;
    layout.classList.remove("panel-open");
    document.querySelectorAll(".is-active").forEach((node) => node.classList.remove("is-active"));
    if (returnFocus && panelTrigger && panelTrigger.isConnected) panelTrigger.focus();
  }

  // A source link the server rendered (no-JS answer) carries what the panel needs in data- attributes.
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

  $("#examples-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.value) ask(event.submitter.value);
  });

  $("#new-conversation").addEventListener("click", (event) => {
    event.preventDefault();
    startAfresh();
  });

  conversation.addEventListener("click", (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // let the browser open a new tab
    const target = event.target.closest(".marker, .source-link");
    if (!target) return;
    const c = citationOf.get(target) || (target.classList.contains("source-link") ? citationFromLink(target) : null);
    if (!c) return; // a server-rendered [n] link: jumping to its source is right
    event.preventDefault();
    openSource(c, target);
  });

  $("#panel-close").addEventListener("click", () => closePanel());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePanel();
  });

  restore();
})();
