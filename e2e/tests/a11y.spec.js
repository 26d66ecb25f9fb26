// Accessibility and looks: an automated scan (axe) of the home page and the
// editor in both themes, dark mode on a dark system, the keyboard, and the
// page at a phone's width.
const AxeBuilder = require('@axe-core/playwright').default;
const { test, expect, converge, editKey } = require('./fixtures');

async function expectNoSeriousViolations(page, what) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  expect(bad, `${what}: serious or critical violations`).toEqual([]);
}

for (const colorScheme of ['light', 'dark']) {
  test(`no serious accessibility violations on the home page and the editor (${colorScheme})`, async ({ server, join }) => {
    test.setTimeout(180_000); // two full axe scans: slow on a busy two-core machine
    const doc = await server.createDoc('Accessible');
    const key = editKey(doc);
    const a = await join(key, 'Ada', { context: { colorScheme } });
    const b = await join(key, 'Bo', { context: { colorScheme } });
    await expect(a.page.locator('html')).toHaveAttribute('data-theme', colorScheme);
    await a.caretAtEnd();
    await a.page.keyboard.insertText('# Notes\n\n- **bold** and `code`\n- [a link](https://example.com)\n\n> a quote\n');
    await b.caretAtEnd();
    await converge(server, key, [a, b]);
    await a.page.getByTestId('preview-toggle').click();
    await expect(a.page.locator(`.cm-remote-caret[data-client="${b.id}"]`)).toBeVisible();
    await expectNoSeriousViolations(a.page, 'editor');
    await a.page.getByTestId('help').click();
    await expect(a.page.getByTestId('help-dialog')).toBeVisible();
    await expectNoSeriousViolations(a.page, 'help dialog');
    await a.page.keyboard.press('Escape');
    await a.page.getByTestId('share').click();
    await expect(a.page.getByTestId('share-dialog')).toBeVisible();
    await expectNoSeriousViolations(a.page, 'share dialog');
    await a.page.keyboard.press('Escape');

    await a.page.goto(`${server.url}/`);
    await expect(a.page.getByTestId('doc-item')).toHaveCount(1);
    await expectNoSeriousViolations(a.page, 'home page');
    await a.page.getByTestId('search').fill('no such thing');
    await expect(a.page.getByTestId('no-match')).toBeVisible();
    await expectNoSeriousViolations(a.page, 'home page, nothing found');
  });
}

test('dark mode follows a dark system, and the toggle is remembered', async ({ server, join }) => {
  const doc = await server.createDoc('Dark');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { context: { colorScheme: 'dark' } });
  const html = a.page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'dark');
  const bg = () => a.page.evaluate(() => getComputedStyle(document.querySelector('.cm-editor')).backgroundColor);
  const luminance = (rgb) => {
    const [r, g, b] = rgb.match(/\d+/g).map(Number);
    return (r + g + b) / 3;
  };
  expect(luminance(await bg())).toBeLessThan(60);
  const toggle = a.page.getByTestId('theme-toggle');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  expect(luminance(await bg())).toBeGreaterThan(200);
  await a.page.reload();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await a.page.goto(`${server.url}/`);
  await expect(html).toHaveAttribute('data-theme', 'light');
  await a.page.getByTestId('theme-toggle').click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
});

test('the keyboard reaches everything: shortcuts help, search and replace, go to line, follow a person', async ({ server, join }) => {
  const doc = await server.createDoc('Keys');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');
  await a.caretAtEnd();
  await a.page.keyboard.insertText(Array.from({ length: 80 }, (_, i) => `line ${i + 1} of the text`).join('\n'));
  await converge(server, key, [a, b]);

  // "?" outside the editor, Ctrl-/ inside it.
  await a.page.getByTestId('title').focus();
  await a.page.keyboard.press('Escape');
  await a.page.locator('body').press('?');
  const help = a.page.getByTestId('help-dialog');
  await expect(help).toBeVisible();
  await expect(help).toContainText('Search and replace');
  await a.page.keyboard.press('Escape');
  await expect(help).toBeHidden();
  await a.editor.click();
  await a.page.keyboard.press('Control+/');
  await expect(help).toBeVisible();
  await a.page.keyboard.press('Escape');

  // Search and replace.
  await a.editor.click();
  await a.page.keyboard.press('Control+f');
  await expect(a.page.locator('.cm-search')).toBeVisible();
  await a.page.locator('.cm-search input[name="search"]').fill('line 7 of');
  await a.page.locator('.cm-search input[name="replace"]').fill('row 7 of');
  await a.page.locator('.cm-search button[name="replaceAll"]').click();
  await expect.poll(async () => (await server.doc(key)).text).toContain('row 7 of the text');
  await a.page.keyboard.press('Escape');

  // Go to line.
  await a.page.getByTestId('goto-line').click();
  await a.page.keyboard.type('60');
  await a.page.keyboard.press('Enter');
  await expect(a.page.getByTestId('cursor-pos')).toHaveText(/^Line 60, column/);
  await expect(a.page.getByTestId('counts')).toHaveText(/\d+ words · [\d,]+ characters/);

  // Bo follows Ada: his editor scrolls to her cursor.
  await a.editor.click();
  await a.page.keyboard.press('Control+End');
  await a.page.keyboard.type(' end');
  const follow = b.page.locator(`[data-testid="person"][data-client="${a.id}"] button`);
  await follow.focus();
  await b.page.keyboard.press('Enter');
  await expect(follow).toHaveAttribute('aria-pressed', 'true');
  const caretShown = () =>
    b.page.evaluate((id) => {
      const c = document.querySelector(`.cm-remote-caret[data-client="${CSS.escape(id)}"]`);
      if (!c) return false;
      const r = c.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight;
    }, a.id);
  await expect.poll(caretShown).toBe(true);
  await a.page.keyboard.press('Control+Home');
  await a.page.keyboard.type('top ');
  await expect.poll(caretShown).toBe(true);

  // Every control in the top bar is a tab stop, in this order (other tools
  // may sit between them), with a visible focus ring.
  await a.page.getByTestId('title').focus();
  for (const id of ['preview-toggle', 'theme-toggle', 'help', 'share']) {
    const control = a.page.getByTestId(id);
    let reached = false;
    for (let presses = 0; presses < 8 && !reached; presses++) {
      await a.page.keyboard.press('Tab');
      reached = await control.evaluate((el) => el === document.activeElement);
    }
    expect(reached, `${id} is reached by Tab`).toBe(true);
    const outline = await control.evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(outline, `${id} shows its focus`).not.toBe('none');
  }
});

test('at 375 px wide: no horizontal scroll, every control reachable', async ({ server, join }) => {
  const doc = await server.createDoc('A rather long title for a small screen');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { context: { viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true } });
  const b = await join(key, 'Bo Chen-Lindqvist', { context: { viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true } });
  await a.caretAtEnd();
  await a.page.keyboard.insertText('# A heading that is long enough to wrap on a phone\n\n- a list item with https://example.com/a/very/long/address/that/does/not/break\n');
  await converge(server, key, [a, b]);
  const noHorizontalScroll = async (page) => {
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    expect(scroll, 'page width').toBeLessThanOrEqual(width);
  };
  await noHorizontalScroll(a.page);
  for (const id of ['title', 'preview-toggle', 'theme-toggle', 'help', 'share', 'my-name', 'status']) {
    const el = a.page.getByTestId(id);
    await expect(el, id).toBeInViewport();
  }
  await a.page.getByTestId('preview-toggle').click();
  await expect(a.page.getByTestId('preview-body').locator('h1')).toBeVisible();
  await noHorizontalScroll(a.page);
  await a.page.getByTestId('share').click();
  await expect(a.page.getByTestId('share-dialog')).toBeVisible();
  await noHorizontalScroll(a.page);
  await a.page.keyboard.press('Escape');

  await a.page.goto(`${server.url}/`);
  await noHorizontalScroll(a.page);
  await expect(a.page.getByTestId('new-doc')).toBeInViewport();
  await expect(a.page.getByTestId('search')).toBeInViewport();
});

test('at 1920 px the split view uses the width', async ({ server, join }) => {
  const doc = await server.createDoc('Wide');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { context: { viewport: { width: 1920, height: 1080 } } });
  await a.page.getByTestId('preview-toggle').click();
  const editor = await a.page.locator('.editor').boundingBox();
  const preview = await a.page.getByTestId('preview').boundingBox();
  expect(editor.width).toBeGreaterThan(700);
  expect(preview.width).toBeGreaterThan(700);
  expect(preview.x).toBeGreaterThan(editor.x + editor.width - 1);
});
