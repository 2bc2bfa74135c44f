// The words for an item's priority, by language: the notification title
// (sw.js), the console's notification preview and the ticker's flash and
// urgent tags. English when the language has none. And how loud an alert
// of each priority is on screen (sw.js, the console's preview).
//
// A classic script that sets self.NewsflashTitles, so that one file serves
// both kinds of loader: the service worker takes it with importScripts (a
// module service worker would do in Chromium, but not in every browser that
// has Web Push), and the ticker and console, which are modules, import it for
// that effect. The block keeps its names out of the worker's global scope.
"use strict";

{
  const titles = Object.freeze({
    en: Object.freeze({ flash: "FLASH", urgent: "URGENT", breaking: "BREAKING" }),
    ar: Object.freeze({ flash: "عاجل جداً", urgent: "عاجل", breaking: "خبر عاجل" }),
    es: Object.freeze({ flash: "ÚLTIMA HORA", urgent: "URGENTE", breaking: "ÚLTIMO MOMENTO" }),
  });
  // How loud a notification is, by priority (docs/push.md): flash stays on
  // screen until the reader acts and makes a sound; urgent makes a sound;
  // breaking is silent. The server sets Web Push Urgency to match: high for
  // flash and urgent, normal for breaking.
  const loudness = Object.freeze({
    flash: Object.freeze({ silent: false, requireInteraction: true }),
    urgent: Object.freeze({ silent: false, requireInteraction: false }),
    breaking: Object.freeze({ silent: true, requireInteraction: false }),
  });
  self.NewsflashTitles = Object.freeze({
    titles,
    loudness,
    // loud is the loudness of priority (breaking's when unknown).
    loud(priority) {
      return loudness[priority] || loudness.breaking;
    },
    // title names priority in lang ("ar", "es-MX", …).
    title(lang, priority) {
      const l = (typeof lang === "string" ? lang : "").toLowerCase();
      const t = titles[l] || titles[l.split("-")[0]] || titles.en;
      return t[priority] || t.breaking;
    },
  });
}
