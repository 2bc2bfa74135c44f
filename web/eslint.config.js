// ESLint for the scripts Newsflash serves (static/*.js): the recommended
// rules, with the globals of where each script runs. Run by .ci/run:
// npm ci && npm run lint (in web/).
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    languageOptions: { ecmaVersion: 2022 },
    rules: {
      // Text is never HTML: what the server or the address says goes into
      // the page as text nodes and attributes only.
      "no-restricted-properties": ["error",
        ...["innerHTML", "outerHTML", "insertAdjacentHTML", "createContextualFragment", "srcdoc"].map((property) =>
          ({ property, message: "Text is never HTML: use textContent, DOM nodes or setAttribute." })),
        { object: "document", property: "write", message: "Text is never HTML." },
        { object: "document", property: "writeln", message: "Text is never HTML." },
      ],
    },
  },
  {
    // Modules of the pages: the reader client, the console.
    files: ["static/**/*.js"],
    ignores: ["static/sw.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // Classic scripts: the demo page's; the ticker, which sites load with
    // a plain <script> tag (it imports the reader client with import());
    // and titles.js, which the service worker loads with importScripts
    // (and the modules import).
    files: ["static/app.js", "static/ticker.js", "static/titles.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["static/sw.js"],
    languageOptions: { sourceType: "script", globals: globals.serviceworker },
  },
];
