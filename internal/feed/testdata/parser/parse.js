// Reads an Atom or RSS feed on stdin and prints, as JSON, what rss-parser
// (an independent parser) made of it: the feed's fields and each item's.
'use strict';
const Parser = require('rss-parser');

const parser = new Parser({
  customFields: {
    feed: [['atom:link', 'atomLinks', { keepArray: true }], ['link', 'links', { keepArray: true }], 'language', 'updated', 'lastBuildDate'],
    item: [['category', 'categoryElems', { keepArray: true }], 'published', 'updated', 'atom:updated', 'guid', 'description'],
  },
});

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  try {
    const feed = await parser.parseString(input);
    process.stdout.write(JSON.stringify(feed));
  } catch (err) {
    process.stderr.write(String(err && err.stack || err) + '\n');
    process.exit(1);
  }
});
