// The live storefront: every click is an event sent to POST /v1/events (applied
// before the answer, ?wait=true), then the "for you" and "similar" rows are read
// again from the JSON API and items new to a row are highlighted. The "for you" row's
// data-events attribute says how many of the page's events the rows shown reflect.
// A 401 or 403 from the API shows a link to the sign-in page.
(function () {
  "use strict";
  const ROW = 8;
  const catalog = JSON.parse(document.getElementById("catalog").textContent);
  const shopper = document.getElementById("shopper");
  const status = document.getElementById("shop-status");
  const forYou = document.getElementById("for-you");
  const similar = document.getElementById("similar");
  const detail = document.getElementById("detail");
  let current = null; // the item being looked at
  let sent = 0; // events this page has sent
  let refreshes = 0; // reads of the rows started

  const params = new URLSearchParams(location.search);
  shopper.value = shopper.value || params.get("user") || localStorage.getItem("streamrec-shopper") ||
    "shopper-" + Math.random().toString(16).slice(2, 8);
  localStorage.setItem("streamrec-shopper", shopper.value);
  const user = () => shopper.value.trim();

  // With API keys configured, the key signed in with (/ui/login keeps it in this
  // tab's sessionStorage) goes with every call as X-API-Key.
  async function api(path, options) {
    const key = sessionStorage.getItem("streamrec-key");
    const headers = Object.assign({}, (options && options.headers) || {}, key ? { "X-API-Key": key } : {});
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (!response.ok) {
      if (response.status === 401 || response.status === 403) signIn();
      const body = await response.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || response.statusText);
    }
    return response.json();
  }

  function signIn() {
    const link = document.getElementById("shop-sign-in");
    link.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search);
    link.hidden = false;
  }

  async function titleOf(id) {
    if (!(id in catalog)) {
      try {
        const found = await api("/v1/items/" + encodeURIComponent(id));
        const meta = found.metadata || {};
        catalog[id] = { title: meta.title || id, category: (meta.categories || [])[0] || null };
      } catch (e) {
        catalog[id] = { title: id, category: null };
      }
    }
    return catalog[id];
  }

  async function cardsOf(row, list) {
    const before = new Set(Array.from(row.children, (el) => el.dataset.itemId));
    return Promise.all(list.items.map(async (item) => {
      const meta = await titleOf(item.item_id);
      const card = document.createElement("button");
      card.type = "button";
      card.className = "card" + (before.size && !before.has(item.item_id) ? " new" : "");
      card.dataset.itemId = item.item_id;
      card.dataset.recommendationId = list.recommendation_id;
      card.innerHTML = '<span class="title"></span><span class="muted"></span><span class="reason"></span>';
      card.children[0].textContent = meta.title;
      card.children[1].textContent = meta.category || "";
      card.children[2].textContent = item.reasons[0] || "";
      return card;
    }));
  }

  function show(row, cards) {
    row.replaceChildren(...cards);
    if (!cards.length) row.innerHTML = '<p class="empty">nothing yet</p>';
  }

  async function refresh() {
    const generation = ++refreshes;
    const reflected = sent; // every event sent so far is applied (?wait=true)
    const looking = current;
    const u = encodeURIComponent(user());
    const list = await api("/v1/users/" + u + "/recommendations?k=" + ROW);
    const mine = await cardsOf(forYou, list);
    const related = looking
      ? await cardsOf(similar, await api("/v1/items/" + encodeURIComponent(looking) + "/similar?k=" + ROW))
      : null;
    if (generation !== refreshes) return; // a newer read is under way: keep its answer
    show(forYou, mine);
    if (related) show(similar, related);
    forYou.dataset.events = String(reflected);
  }

  async function send(type, itemId, recommendationId) {
    const event = { user_id: user(), item_id: itemId, type: type };
    if (recommendationId) event.recommendation_id = recommendationId;
    await api("/v1/events?wait=true", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(event),
    });
    sent += 1;
    status.textContent = type.replace(/_/g, " ") + " of " + (await titleOf(itemId)).title + " sent";
  }

  async function look(itemId, recommendationId) {
    current = itemId;
    detail.hidden = false;
    document.getElementById("detail-title").textContent = (await titleOf(itemId)).title;
    similar.replaceChildren();
    await send(recommendationId ? "click" : "view", itemId, recommendationId);
    await refresh();
  }

  function guard(action) {
    return (event) => action(event).catch((e) => { status.textContent = "error: " + e.message; });
  }

  document.getElementById("products").addEventListener("click", guard(async (event) => {
    const card = event.target.closest(".card");
    if (card) await look(card.dataset.itemId, null);
  }));
  for (const row of [forYou, similar]) {
    row.addEventListener("click", guard(async (event) => {
      const card = event.target.closest(".card");
      if (card) await look(card.dataset.itemId, card.dataset.recommendationId);
    }));
  }
  detail.addEventListener("click", guard(async (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && current) {
      await send(button.dataset.action, current, null);
      await refresh();
    }
  }));
  shopper.addEventListener("change", guard(async () => {
    localStorage.setItem("streamrec-shopper", user());
    await refresh();
  }));
  guard(refresh)();
  setInterval(() => guard(refresh)(), 5000);
})();
