// The qa page: asks /ask, shows cited passages as cards, opens a cited document from /documents.
// Text from the index is always inserted as text nodes, never as HTML.
"use strict";

const LABELS = {
  zh: {
    subtitle: "从你的文档中找出回答问题的原文段落，附出处", question: "问题", topk: "段落数", mode: "排序",
    ask: "提问", reader: "抽取答案", token: "访问令牌", close: "关闭", asking: "正在查找…", answer: "答案",
    abstain: "索引中没有段落能有把握地回答这个问题。", closest: "最接近的段落：",
    paragraph: "段", line: "行", page: "页", chars: "字符", score: "得分",
    placeholder: "输入问题，例如：株洲市中心医院的党委书记是谁？", needtoken: "服务器需要访问令牌：请在上方输入后重试。",
    passages: (n) => `${n} 个段落`, offline: "无法连接服务器", lang: "English",
  },
  en: {
    subtitle: "Source passages from your documents that answer a question, with citations", question: "Question",
    topk: "Passages", mode: "Ranking", ask: "Ask", reader: "Extract the answer", token: "Token", close: "Close", asking: "Searching…",
    answer: "Answer", abstain: "No passage in the index answers this question with confidence.",
    closest: "Closest passages:", paragraph: "¶", line: "line", page: "page", chars: "chars", score: "score",
    placeholder: "Type a question, e.g. Who is the Party secretary of Zhuzhou Central Hospital?",
    needtoken: "The server needs a token: enter it above and ask again.",
    passages: (n) => `${n} passages`, offline: "cannot reach the server", lang: "中文",
  },
};

let lang = localStorage.getItem("qa-lang") || ((navigator.language || "zh").startsWith("zh") ? "zh" : "en");
let last = null; // the last answer record, re-drawn when the language changes
const $ = (id) => document.getElementById(id);
const t = (key) => LABELS[lang][key];

function applyLabels() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("question").placeholder = t("placeholder");
  $("lang").textContent = t("lang");
  if (last) render(last);
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function citation(p) {
  const page = p.page !== null && p.page !== undefined ? `, ${t("page")} ${p.page}` : "";
  const para = lang === "zh" ? `第 ${p.paragraph} ${t("paragraph")}` : `¶${p.paragraph}`;
  return `${p.doc} ${para}${page}, ${t("line")} ${p.line}, ${t("chars")} ${p.start}-${p.end}`;
}

// Where the passage's answer span starts in its text (as qa/records/render.py finds it).
function answerOffset(p) {
  const a = p.answer;
  if (!a || !a.text) return -1;
  const guess = a.start - p.start;
  if (p.text.substr(guess, a.text.length) === a.text) return guess;
  let best = -1;
  for (let i = p.text.indexOf(a.text); i >= 0 && i <= guess; i = p.text.indexOf(a.text, i + 1)) best = i;
  return best >= 0 ? best : p.text.indexOf(a.text);
}

// Append `text` to `parent`, wrapping the given [start, end) ranges (nested or apart) in <mark>s.
function marked(parent, text, ranges) {
  const cuts = new Set([0, text.length]);
  ranges.forEach((r) => { cuts.add(r.start); cuts.add(r.end); });
  const points = [...cuts].filter((x) => x >= 0 && x <= text.length).sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [s, e] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(s, e));
    ranges.filter((r) => r.start <= s && e <= r.end)
      .sort((a, b) => (a.end - a.start) - (b.end - b.start))
      .forEach((r) => {
        const m = el("mark", r.cls);
        if (r.id && !r.placed) { m.id = r.id; r.placed = true; } // a range cut in pieces: the id on its first
        m.appendChild(node);
        node = m;
      });
    parent.appendChild(node);
  }
}

function card(p) {
  const c = el("article", "card");
  const head = el("div", "head");
  head.appendChild(el("span", "rank", `[${p.rank}]`));
  head.appendChild(el("span", "score", `${t("score")} ${p.score.toFixed(3)}`));
  const link = el("a", "cite", citation(p));
  link.href = "#";
  link.addEventListener("click", (ev) => { ev.preventDefault(); openDocument(p); });
  head.appendChild(link);
  c.appendChild(head);
  const body = el("p", "passage");
  const ranges = [];
  const s = p.sentence ? p.text.indexOf(p.sentence) : -1;
  if (s >= 0) ranges.push({ start: s, end: s + p.sentence.length, cls: "sent" });
  const a = answerOffset(p);
  if (a >= 0) ranges.push({ start: a, end: a + p.answer.text.length, cls: "ans" });
  marked(body, p.text, ranges);
  c.appendChild(body);
  return c;
}

function render(record) {
  const answer = $("answer"), results = $("results");
  answer.replaceChildren();
  results.replaceChildren();
  answer.hidden = true;
  answer.className = "";
  if (record.abstained) {
    answer.hidden = false;
    answer.className = "abstain";
    answer.appendChild(el("strong", "", t("abstain")));
    if (record.passages.length) answer.appendChild(el("div", "", t("closest")));
  } else if (record.answer) {
    answer.hidden = false;
    const a = record.answer;
    answer.append(el("strong", "", `${t("answer")}: `), el("span", "", a.text),
                  el("span", "score", `  (${a.doc} ¶${a.paragraph})`));
  }
  record.passages.forEach((p) => results.appendChild(card(p)));
  $("status").textContent = record.abstained ? "" : t("passages")(record.passages.length);
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const token = $("token").value || sessionStorage.getItem("qa-token");
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function call(path, body) {
  let resp;
  try {
    resp = await fetch(path, body === undefined ? { headers: headers() }
      : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  } catch (e) {
    throw new Error(t("offline"));
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON: reported below */ }
  if (resp.status === 401) {
    $("tokenrow").hidden = false;
    throw new Error(t("needtoken"));
  }
  if (!resp.ok) throw new Error((data && data.error) || `${resp.status} ${resp.statusText}`);
  if ($("token").value) sessionStorage.setItem("qa-token", $("token").value);
  return data;
}

function setStatus(text, error) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function ask(ev) {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("submit").disabled = true;
  setStatus(t("asking"));
  try {
    last = await call("/ask", { question, top_k: Number($("top_k").value), mode: $("mode").value, show_all: true,
                               reader: $("reader").checked });
    setStatus("");
    render(last);
  } catch (e) {
    last = null;
    $("answer").hidden = true;
    $("results").replaceChildren();
    setStatus(e.message, true);
  } finally {
    $("submit").disabled = false;
  }
}

async function openDocument(p) {
  try {
    const doc = await call(`/documents/${p.doc.split("/").map(encodeURIComponent).join("/")}`);
    const view = $("docview"), text = $("doctext");
    $("doctitle").textContent = doc.title ? `${doc.doc} · ${doc.title}` : doc.doc;
    text.replaceChildren();
    const ranges = [{ start: p.start, end: p.end, cls: "pass", id: "target" }];
    if (p.sentence_end > p.sentence_start) ranges.push({ start: p.sentence_start, end: p.sentence_end, cls: "sent" });
    if (p.answer) ranges.push({ start: p.answer.start, end: p.answer.end, cls: "ans" });
    marked(text, doc.text, ranges);
    view.hidden = false;
    const target = document.getElementById("target");
    if (target) target.scrollIntoView({ block: "center" });
    $("docclose").focus();
  } catch (e) {
    setStatus(e.message, true);
  }
}

function closeDocument() { $("docview").hidden = true; }

async function footer() {
  try {
    const h = await (await fetch("/health")).json();
    $("footer").textContent = h.error ? h.error : `${h.passages} passages · ${h.model} · qa ${h.version}`;
  } catch (e) { /* the footer is only information */ }
}

$("ask").addEventListener("submit", ask);
$("question").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("ask").requestSubmit(); }
});
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("qa-lang", lang);
  applyLabels();
});
$("docclose").addEventListener("click", closeDocument);
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeDocument(); });
applyLabels();
footer();
