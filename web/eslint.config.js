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
  },
  {
    // Modules of the pages: the ticker, the reader client, the console.
    files: ["static/**/*.js"],
    ignores: ["static/sw.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // Classic scripts: the demo page's, and titles.js, which the service
    // worker loads with importScripts (and the modules import).
    files: ["static/app.js", "static/titles.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["static/sw.js"],
    languageOptions: { sourceType: "script", globals: globals.serviceworker },
  },
];
