// The chat view's page: applies the small operations app/core/chat_document.py describes.
// It draws and decorates; every decision (what a block holds, labels, metrics) is made in Python.
"use strict";

const fr = (() => {
  const root = document.getElementById("conversation");
  const empty = document.getElementById("empty");
  const scroller = document.getElementById("scroller");
  const messages = new Map();
  let bridge = null;
  // The page's own texts, in the window's language (the "labels" operation replaces them).
  const L = {
    edit: "Edit", continue: "Continue", copy_answer: "Copy answer", regenerate: "Regenerate",
    copy: "Copy", save_as: "Save as…", final_answer: "Final answer",
    show_all: "Click to show all", thinking: "Thinking…", empty: "",
  };
  const BUTTON_TEXT = {
    edit: "edit", continue: "continue", copy_answer: "copy_answer", regenerate: "regenerate",
    copy_code: "copy", save_code: "save_as",
  };

  if (window.qt && window.QWebChannel) {
    new QWebChannel(qt.webChannelTransport, (channel) => { bridge = channel.objects.bridge; });
  }

  function act(name, id, payload) {
    if (bridge) bridge.action(name, id, payload || "");
  }

  function make(tag, className, parent, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function button(parent, name, id, payloadOf) {
    const node = make("button", "act act-" + name, parent, L[BUTTON_TEXT[name]]);
    node.type = "button";
    node.addEventListener("click", (event) => {
      event.preventDefault();
      event.stopPropagation();
      act(name, id, payloadOf ? payloadOf() : "");
    });
    return node;
  }

  function turn(id) {
    let node = document.getElementById(id);
    if (!node) {
      node = make("section", "turn", root);
      node.id = id;
      empty.hidden = true;
    }
    return node;
  }

  function user(id, text) {
    const node = turn(id);
    if (node.querySelector(".user")) return;
    const row = make("div", "user", null);
    node.prepend(row);
    const bubble = make("div", "bubble", row);
    const body = make("div", "bubble-text", bubble, text);
    if (text.split("\n").length > 6 || text.length > 480) {
      body.classList.add("clamped");
      bubble.title = L.show_all;
      bubble.addEventListener("click", () => body.classList.toggle("clamped"));
    }
    const actions = make("div", "actions", row);
    button(actions, "edit", id);
  }

  function reply(id) {
    if (messages.has(id)) return messages.get(id);
    const node = turn(id);
    const article = make("article", "reply streaming", node);
    const think = make("details", "think", article);
    think.hidden = true;
    const summary = make("summary", "", think);
    const thinkLabel = make("span", "think-label", summary, L.thinking);
    const thinkBody = make("div", "think-body", think);
    think.addEventListener("toggle", () => { think.dataset.touched = "1"; });
    summary.addEventListener("click", () => { think.dataset.touched = "1"; });
    const card = make("div", "card", article);
    card.hidden = true;
    const head = make("div", "card-head", card);
    const final = make("div", "final", head);
    final.hidden = true;
    const reading = make("div", "reading", head);
    reading.hidden = true;
    const answerBody = make("div", "answer-body", card);
    const truncated = make("div", "truncated", article);
    truncated.hidden = true;
    const truncatedText = make("span", "", truncated);
    button(truncated, "continue", id);
    const error = make("div", "error", article);
    error.hidden = true;
    const meta = make("div", "meta", article);
    const metrics = make("span", "metrics", meta);
    const actions = make("span", "actions", meta);
    button(actions, "copy_answer", id);
    button(actions, "regenerate", id);
    const message = {
      article, think, thinkLabel, thinkBody, card, final, reading, answerBody, truncated,
      truncatedText, error, metrics, blocks: { think: [], answer: [] },
    };
    messages.set(id, message);
    return message;
  }

  function decorate(block) {
    for (const code of block.querySelectorAll("div.code")) {
      if (code.querySelector(".code-bar")) continue;
      const bar = make("div", "code-bar", null);
      code.prepend(bar);
      make("span", "code-lang", bar, code.dataset.lang || "text");
      const id = block.closest(".turn").id;
      const text = () => code.querySelector("pre").innerText;
      button(bar, "copy_code", id, text);
      button(bar, "save_code", id,
             () => JSON.stringify({ language: code.dataset.lang || "", code: text() }));
    }
  }

  const handlers = {
    clear() {
      root.replaceChildren();
      messages.clear();
      empty.hidden = false;
    },
    user,
    reply,
    think_start(id) {
      const m = reply(id);
      m.think.hidden = false;
      m.think.open = true;
      m.article.classList.add("thinking");
    },
    think_clock(id, label) {
      const m = reply(id);
      m.thinkLabel.textContent = label;
      m.thinkLabel.classList.toggle("tick");
    },
    block(id, section, index, html, isOpen) {
      const m = reply(id);
      const list = m.blocks[section];
      const container = section === "think" ? m.thinkBody : m.answerBody;
      while (list.length <= index) list.push(make("div", "block", container));
      const block = list[index];
      block.innerHTML = html;
      block.classList.toggle("open", Boolean(isOpen));
      decorate(block);
      if (section === "answer") m.card.hidden = false;
      else m.think.hidden = false;
    },
    think_end(id, label) {
      const m = reply(id);
      m.think.hidden = false;
      m.thinkLabel.textContent = label;
      m.article.classList.remove("thinking");
      if (!m.think.dataset.touched) m.think.open = false;
      delete m.think.dataset.touched;
    },
    final(id, html) {
      const m = reply(id);
      m.final.innerHTML = '<span class="final-label"></span>' + html;
      m.final.firstChild.textContent = L.final_answer;
      // A sentence in the box (Fin-R1 boxes remarks too) reads better as text than as a badge.
      m.final.classList.toggle("long", m.final.textContent.length > 60);
      m.final.hidden = false;
      m.card.hidden = false;
    },
    truncated(id, label, canContinue) {
      const m = reply(id);
      m.truncatedText.textContent = label;
      m.truncated.querySelector(".act-continue").hidden = !canContinue;
      m.truncated.hidden = false;
    },
    reading(id, html) {
      const m = reply(id);
      m.reading.innerHTML = html;
      m.reading.hidden = false;
      m.card.hidden = false;
    },
    metrics(id, text) {
      reply(id).metrics.textContent = text;
    },
    status(id, status) {
      const m = reply(id);
      if (status !== "streaming" && m.article.dataset.status === "streaming") finishedNow = m;
      m.article.classList.toggle("streaming", status === "streaming");
      m.article.dataset.status = status;
      if (status !== "streaming") m.article.classList.remove("thinking");
    },
    error(id, text) {
      const m = reply(id);
      m.error.textContent = text;
      m.error.hidden = false;
    },
    theme(name) {
      document.documentElement.dataset.theme = name;
    },
    labels(texts, language) {
      Object.assign(L, texts);
      document.documentElement.lang = language;
      for (const [name, key] of Object.entries(BUTTON_TEXT)) {
        for (const node of document.querySelectorAll(".act-" + name)) node.textContent = L[key];
      }
      for (const node of document.querySelectorAll(".final-label")) node.textContent = L.final_answer;
      for (const node of document.querySelectorAll(".bubble[title]")) node.title = L.show_all;
      empty.querySelector(".empty-text").textContent = L.empty;
    },
  };

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  let finishedNow = null;

  // While the reader follows the stream the page sticks to the bottom; when a reply finishes
  // and its final answer and verdict are above the screen, they are brought back into view.
  function apply(ops) {
    const stick = nearBottom();
    finishedNow = null;
    for (const op of ops) handlers[op[0]](...op.slice(1));
    if (stick) {
      scroller.scrollTop = scroller.scrollHeight;
      const head = finishedNow && !finishedNow.card.hidden ? finishedNow.card : null;
      if (head && head.getBoundingClientRect().top < 0) {
        (finishedNow.think.hidden ? head : finishedNow.think).scrollIntoView({ block: "start" });
      }
    }
    return ops.length;
  }

  function answerText(id) {
    const m = messages.get(id);
    return m ? m.answerBody.innerText : "";
  }

  // A plain description of what the page shows, for tests and the self-test.
  function inspect() {
    return JSON.stringify([...messages.entries()].map(([id, m]) => ({
      id,
      user: (document.querySelector("#" + id + " .user .bubble") || {}).textContent || null,
      status: m.article.dataset.status || "",
      think: {
        shown: !m.think.hidden, open: m.think.open, label: m.thinkLabel.textContent,
        blocks: m.blocks.think.length, text: m.thinkBody.textContent,
      },
      answer: {
        shown: !m.card.hidden, blocks: m.blocks.answer.length, text: m.answerBody.innerText,
        openBlocks: m.answerBody.querySelectorAll(".block.open").length,
        math: m.answerBody.querySelectorAll("math").length,
        displayMath: m.answerBody.querySelectorAll("math[display=block]").length,
        boxedInMath: m.answerBody.querySelectorAll("math .boxed").length,
        chips: m.answerBody.querySelectorAll(".boxed-chip").length,
        code: m.answerBody.querySelectorAll("div.code").length,
        codeButtons: m.answerBody.querySelectorAll("div.code .act-copy_code").length,
        highlighted: m.answerBody.querySelectorAll("div.code pre span[class]").length,
        tables: m.answerBody.querySelectorAll("table").length,
        listItems: m.answerBody.querySelectorAll("li").length,
      },
      final: m.final.hidden ? null : m.final.querySelector(".boxed-chip").textContent.trim(),
      reading: m.reading.hidden ? null : m.reading.innerText,
      readingClasses: [...m.reading.querySelectorAll(".badge")].map((b) => b.className),
      truncated: m.truncated.hidden ? null : m.truncatedText.textContent,
      error: m.error.hidden ? null : m.error.textContent,
      metrics: m.metrics.textContent,
    })));
  }

  return { apply, inspect, answerText };
})();
