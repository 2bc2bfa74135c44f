// Newsflash service worker: shows breaking news pushed by the server as
// notifications, replaces them when an item is corrected, closes them when it
// is retracted, and renews the subscription when the browser changes it.
//
// Push payloads: {type: "item"|"update", seq, item: {id, version, text, url,
// lang, regions, topics, priority, source, published_at}} and
// {type: "retract", seq, item: {id, version}}. Only alerts are pushed (an
// item posted or promoted with alert, then its corrections and retraction);
// ticker-only items never reach the worker. A test notification (an
// editor's dry run with test_to) is an item payload with test: true: it is
// shown as "TEST · <title>" under its own tag, test-<id>, so it neither
// replaces nor is replaced by the item's real notification.
//
// An alert's payload (item and update, not tests) carries receipt, an
// opaque token: once the notification is shown the worker posts
// {receipt, event: "shown"} to /api/v1/push/receipts, and {receipt, event:
// "clicked"} when it is clicked, so the newsroom sees what each alert did.
// Only counts are kept; a failed post is dropped.
"use strict";

// The titles by priority and language, shared with the pages (titles.js).
importScripts("/static/titles.js");
const { title: titleOf, titles: TITLES, loud } = self.NewsflashTitles;
const RTL = /^(ar|fa|he|ur|ps|ckb|yi|dv)(-|$)/i;
const SUBSCRIPTIONS = "/api/v1/push/subscriptions";
const RECEIPTS = "/api/v1/push/receipts";

// receipt posts a receipt's event to the server the worker came from;
// failures are ignored (a receipt is a count, never worth an error).
function receipt(token, event) {
  if (!token) return Promise.resolve();
  return fetch(new URL(RECEIPTS, self.location.origin), {
    method: "POST",
    keepalive: true,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ receipt: token, event }),
  }).catch(() => {});
}

// keep holds the worker alive for the work of an event (an event made by a
// script rather than the browser cannot be held: the work still runs).
function keep(event, work) {
  const p = work.catch(() => {});
  try {
    event.waitUntil(p);
  } catch {
    // not dispatched by the browser
  }
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => keep(event, self.clients.claim()));

const str = (v) => (typeof v === "string" ? v : "");
const httpURL = (u) => {
  try {
    const x = new URL(u);
    return x.protocol === "http:" || x.protocol === "https:" ? x.href : null;
  } catch {
    return null;
  }
};

// title names the priority in the item's language (English when unknown).
const title = (item) => titleOf(str(item.lang), item.priority);

self.addEventListener("push", (event) => keep(event, onPush(event)));

async function onPush(event) {
  let msg = null;
  try {
    msg = event.data ? event.data.json() : null;
  } catch {
    msg = null; // not JSON
  }
  const item = msg && typeof msg === "object" && msg.item && typeof msg.item === "object" ? msg.item : null;
  const id = item ? str(item.id) : "";
  const reg = self.registration;

  if (msg && msg.type === "retract") {
    if (id) for (const n of await reg.getNotifications({ tag: id })) n.close();
    return;
  }
  if (!id || !str(item.text) || (msg.type !== "item" && msg.type !== "update")) {
    return fallback(reg);
  }
  const version = Number(item.version) || 0;
  const test = msg.test === true;
  const token = !test && typeof msg.receipt === "string" ? msg.receipt : "";
  const tag = test ? "test-" + id : id;
  const [shown] = await reg.getNotifications({ tag });
  if (!test && shown && shown.data && typeof shown.data.version === "number" && version <= shown.data.version) {
    return; // an older (or the same) version than the one on screen
  }
  const lang = str(item.lang) || "en";
  const ts = Date.parse(str(item.published_at));
  // Loudness by priority (titles.js): flash stays until acted on, flash
  // and urgent make a sound, breaking is silent. renotify (alert again
  // when replacing a notification with the same tag) only for flash, which
  // is never silent: the two together are refused.
  const { silent, requireInteraction } = loud(item.priority);
  const options = {
    body: item.text,
    tag,
    renotify: item.priority === "flash",
    silent,
    requireInteraction,
    lang,
    dir: RTL.test(lang) ? "rtl" : "ltr",
    icon: "/static/icon-192.png",
    badge: "/static/badge-96.png",
    data: { id, version, url: httpURL(item.url), receipt: token },
  };
  if (!isNaN(ts)) options.timestamp = ts;
  await reg.showNotification(test ? "TEST · " + title(item) : title(item), options);
  await receipt(token, "shown");
}

// fallback answers a push it cannot read: browsers want every push to show
// something, so unless a notification of ours is already there (or a page
// of the site is in front), say that there is news.
async function fallback(reg) {
  const [open, windows] = await Promise.all([
    reg.getNotifications(),
    self.clients.matchAll({ type: "window", includeUncontrolled: true }),
  ]);
  if (open.length || windows.some((c) => c.focused)) return;
  await reg.showNotification(TITLES.en.breaking, {
    body: "New breaking news on Newsflash.",
    tag: "newsflash",
    icon: "/static/icon-192.png",
    badge: "/static/badge-96.png",
    data: { id: "", version: 0, url: null },
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const url = httpURL(data.url) || new URL("/", self.registration.scope).href;
  keep(event, Promise.all([openOrFocus(url), receipt(typeof data.receipt === "string" ? data.receipt : "", "clicked")]));
});

async function openOrFocus(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const c of windows) {
    if (c.url === url && "focus" in c) return c.focus();
  }
  if (self.clients.openWindow) return self.clients.openWindow(url);
}

// The browser renewed (or dropped) the subscription: subscribe again, tell
// the server to forget the old endpoint and register the new one with the
// filter the page stored.
self.addEventListener("pushsubscriptionchange", (event) => keep(event, resubscribe(event)));

async function resubscribe(event) {
  const old = event.oldSubscription || null;
  let sub = event.newSubscription || null;
  if (!sub) {
    const res = await fetch("/api/v1/push/key");
    if (!res.ok) return; // push is off on the server now
    const { public_key: key } = await res.json();
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(key) });
  }
  if (old) {
    const keys = (old.toJSON && old.toJSON().keys) || {};
    await fetch(SUBSCRIPTIONS, {
      method: "DELETE",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ endpoint: old.endpoint, auth: keys.auth }),
    }).catch(() => {});
  }
  // The reader's settings go with the new subscription. Should the server
  // refuse them now (a followed story closed meanwhile), the follows, then
  // all settings, are dropped rather than the subscription.
  const body = { subscription: sub.toJSON(), filter: await storedFilter() };
  const prefs = await storedPrefs();
  const tries = prefs ? [{ ...prefs }, { ...prefs, stories: [] }, null] : [null];
  for (const p of tries) {
    if (p) body.prefs = p;
    else delete body.prefs;
    const res = await fetch(SUBSCRIPTIONS, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 400) return;
  }
}

// storedPrefs is the settings the page last posted (/push-prefs), or null.
async function storedPrefs() {
  try {
    const res = await (await caches.open("newsflash")).match("/push-prefs");
    const saved = res ? await res.json() : null;
    return saved && typeof saved === "object" && !Array.isArray(saved) ? saved : null;
  } catch {
    return null;
  }
}

async function storedFilter() {
  const f = { regions: [], topics: [], langs: [] };
  try {
    const res = await (await caches.open("newsflash")).match("/push-filter");
    const saved = res ? await res.json() : null;
    for (const k of Object.keys(f)) {
      if (saved && Array.isArray(saved[k])) f[k] = saved[k].filter((s) => typeof s === "string");
    }
  } catch {
    // nothing stored: everything
  }
  return f;
}

function fromB64url(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}
