// The Markdown preview: rendered next to the text, live as anyone types,
// in step with the editor's scroll, and no script from a document ever
// runs.
const { test, expect, converge, editKey } = require('./fixtures');

const HOSTILE = [
  '# Plan',
  '',
  '- first',
  '- second',
  '',
  '<script>window.__ran = "script"</script>',
  '',
  '<img src="nowhere.png" onerror="window.__ran = \'onerror\'">',
  '',
  '[a link](javascript:window.__ran=\'markdown-link\')',
  '',
  '<a href="javascript:window.__ran=\'html-link\'" data-testid="bad-link">an html link</a>',
  '',
  '<svg onload="window.__ran = \'svg\'"><circle r="4"/></svg>',
  '',
  '<iframe srcdoc="<script>parent.__ran = \'iframe\'</script>"></iframe>',
  '',
  '<details open><summary>More</summary><p onclick="window.__ran = \'click\'" data-testid="clickable">inside</p></details>',
  '',
].join('\n');

test('the preview renders headings and lists as anyone types, and never runs a script from the text', async ({ server, join }) => {
  const doc = await server.createDoc('Preview');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');
  await a.page.getByTestId('preview-toggle').click();
  await expect(a.page.getByTestId('preview-toggle')).toHaveAttribute('aria-pressed', 'true');
  const preview = a.page.getByTestId('preview-body');

  // Bo types; Ada's preview follows.
  await b.caretAtEnd();
  await b.page.keyboard.insertText(HOSTILE);
  await converge(server, key, [a, b]);
  await expect(preview.locator('h1')).toHaveText('Plan');
  await expect(preview.locator('ul > li')).toHaveText(['first', 'second']);
  await expect(preview.locator('details summary')).toHaveText('More');
  await b.caretAtEnd();
  await b.page.keyboard.insertText('\n\n## Later\n1. one\n2. two\n');
  await expect(preview.locator('h2')).toHaveText('Later');
  await expect(preview.locator('ol > li')).toHaveText(['one', 'two']);

  // Nothing that could run is left in the page.
  expect(await preview.locator('script, iframe, object, embed').count()).toBe(0);
  const handlers = await preview.evaluate((el) =>
    [...el.querySelectorAll('*')].flatMap((n) => [...n.attributes].filter((at) => /^on/i.test(at.name)).map((at) => `${n.tagName} ${at.name}`)),
  );
  expect(handlers).toEqual([]);
  const hrefs = await preview.locator('a').evaluateAll((as) => as.map((x) => x.getAttribute('href')));
  for (const href of hrefs) expect(href ?? '').not.toMatch(/^\s*javascript:/i);

  // Clicking what is there runs nothing either.
  await preview.getByTestId('bad-link').click();
  await preview.getByTestId('clickable').click();
  await a.page.waitForTimeout(300);
  expect(await a.page.evaluate(() => window.__ran ?? null)).toBeNull();
  expect(a.page.url()).toContain(`/d/${key}`);

  // The choice is remembered: the preview is back after a reload.
  await a.page.reload();
  await expect(a.page.getByTestId('preview-body').locator('h1')).toHaveText('Plan');
  expect(await a.page.evaluate(() => window.__ran ?? null)).toBeNull();
});

test('the preview scrolls with the editor', async ({ server, join }) => {
  const doc = await server.createDoc('Long');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const lines = [];
  for (let i = 1; i <= 60; i++) lines.push(`## Section ${i}`, '', `Paragraph ${i} with some words in it.`, '');
  await a.caretAtEnd();
  await a.page.keyboard.insertText(lines.join('\n'));
  await a.page.getByTestId('preview-toggle').click();
  const preview = a.page.getByTestId('preview');
  await expect(preview.locator('h2')).toHaveCount(60);

  // Scrolled to section 30 in the editor, the preview shows section 30.
  await a.page.evaluate(() => {
    const view = window.tandem.view;
    const line = view.state.doc.line(4 * 29 + 1);
    view.scrollDOM.scrollTop = view.lineBlockAt(line.from).top;
  });
  await expect
    .poll(() =>
      preview.evaluate((el) => {
        const top = el.getBoundingClientRect().top;
        const h = [...el.querySelectorAll('h2')].find((x) => x.getBoundingClientRect().bottom > top + 4);
        return h?.textContent ?? null;
      }),
    )
    .toMatch(/^Section (29|30|31)$/);
});
