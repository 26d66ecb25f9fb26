// Writes docs/screenshot.png and docs/screenshot-dark.png: two people
// editing one document, their two browser windows side by side, each
// showing the other's caret and name; Ada has the Markdown preview open.
// The second image is the same in dark mode. Only run on request
// (SCREENSHOT=1 npx playwright test screenshot); the config leaves this
// file out otherwise, so test runs change no tracked file.
const path = require('node:path');
const { test, expect, converge, editKey } = require('./fixtures');

const TEXT = `# Lisbon trip, 12–15 May 🇵🇹

## Day 1 · Alfama
- Tram 28 from Martim Moniz 🚋 (go early, it fills up)
- Castelo de São Jorge, then the **Miradouro de Santa Luzia**
- Dinner: fado at a tasca, book a table

## Day 2 · Belém
- Pastéis de nata at the old bakery 🥐
- Jerónimos Monastery, Padrão dos Descobrimentos
- Sunset at the LX Factory

## To decide
- Sintra on day 3 or 4?
- Mei’s list: 里斯本 · 辛特拉 · ロカ岬
- Who books the train?`;

const ADA = { width: 1040, height: 640 };
const BO = { width: 640, height: 640 };

// toLine puts a person's caret at the end of a line (0-based), or after
// `col` characters of it (through the editor, since wrapped lines make
// arrow keys move by screen lines).
async function toLine(p, line, col = null) {
  await p.editor.click();
  await p.page.evaluate(
    ([n, c]) => {
      const view = window.tandem.view;
      const l = view.state.doc.line(n + 1);
      view.dispatch({ selection: { anchor: c === null ? l.to : l.from + c }, scrollIntoView: true });
      view.focus();
    },
    [line, col],
  );
}

for (const colorScheme of ['light', 'dark']) {
  test(`screenshot of two people editing (${colorScheme})`, async ({ server, join, browser }) => {
    const doc = await server.createDoc('Lisbon trip');
    const key = editKey(doc);
    const a = await join(key, 'Ada Lovelace', { context: { viewport: ADA, colorScheme } });
    const b = await join(key, 'Bo Chen', { context: { viewport: BO, colorScheme } });
    await a.caretAtEnd();
    await a.page.keyboard.insertText(TEXT);
    await converge(server, key, [a, b]);
    await a.page.getByTestId('preview-toggle').click();

    // Ada is writing in Day 2; Bo has added a note and selected "Sintra".
    const lines = TEXT.split('\n');
    await toLine(a, lines.indexOf('- Jerónimos Monastery, Padrão dos Descobrimentos'));
    await a.page.keyboard.type(', MAAT');
    await toLine(b, lines.indexOf('- Who books the train?'));
    await b.page.keyboard.type(' Bo does');
    const text = await converge(server, key, [a, b]);
    expect(text).toContain('Padrão dos Descobrimentos, MAAT\n');
    await toLine(b, lines.indexOf('- Sintra on day 3 or 4?'), 2);
    await b.page.keyboard.press('Control+Shift+ArrowRight');
    await expect(a.page.locator('.cm-remote-selection')).toHaveCount(1);
    await expect(a.page.locator(`.cm-remote-caret[data-client="${b.id}"]`)).toBeVisible();
    await expect(b.page.locator(`.cm-remote-caret[data-client="${a.id}"]`)).toBeVisible();
    await expect(a.page.getByTestId('preview-body').locator('h2')).toHaveCount(3);

    const shots = [];
    for (const p of [a, b]) {
      // The labels fade after a moment of stillness; the picture shows
      // them.
      await p.page.addStyleTag({ content: '.cm-remote-label { animation: none !important; }' });
      await p.page.evaluate(() => window.scrollTo(0, 0));
      shots.push((await p.page.screenshot()).toString('base64'));
    }

    const gap = 24;
    const dark = colorScheme === 'dark';
    const context = await browser.newContext({
      viewport: { width: ADA.width + BO.width + gap * 3, height: ADA.height + 76 },
      deviceScaleFactor: 1,
    });
    try {
      const page = await context.newPage();
      const sizes = [ADA, BO];
      await page.setContent(`<!doctype html><html><body style="margin:0;background:${dark ? '#0b0d11' : '#e9ecf1'};font:600 14px system-ui,sans-serif;color:${dark ? '#a4a9b2' : '#4a5261'}">
        <div style="display:flex;gap:${gap}px;padding:16px ${gap}px 24px">
          ${shots
            .map(
              (s, i) => `<figure style="margin:0">
                <figcaption style="margin:0 0 10px 2px">${i === 0 ? 'Ada’s browser, with the preview' : 'Bo’s browser'}</figcaption>
                <img src="data:image/png;base64,${s}" width="${sizes[i].width}" height="${sizes[i].height}"
                  style="display:block;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.10)">
              </figure>`,
            )
            .join('')}
        </div></body></html>`);
      const name = dark ? 'screenshot-dark.png' : 'screenshot.png';
      await page.screenshot({ path: path.resolve(__dirname, '../../docs', name) });
    } finally {
      await context.close();
    }
  });
}

// frame puts a page's screenshot on a grey background with a caption, as
// docs/screenshot.png does, and writes it to docs/<name>.
async function frame(browser, shot, size, caption, name) {
  const context = await browser.newContext({ viewport: { width: size.width + 48, height: size.height + 82 }, deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#e9ecf1;font:600 14px system-ui,sans-serif;color:#4a5261">
      <figure style="margin:0;padding:18px 24px 24px">
        <figcaption style="margin:0 0 10px 2px">${caption}</figcaption>
        <img src="data:image/png;base64,${shot.toString('base64')}" width="${size.width}" height="${size.height}"
          style="display:block;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.10)">
      </figure></body></html>`);
    await page.screenshot({ path: path.resolve(__dirname, `../../docs/${name}`) });
  } finally {
    await context.close();
  }
}

// A plan written by three people over a few revisions: Ada's first draft
// (named "First draft"), then Bo's and Cy's changes, made over HTTP edits
// with their author ids so that the history and the colours have them.
async function writeTrip(server, join, view) {
  const doc = await server.createDoc('Lisbon trip');
  const key = editKey(doc);
  const ada = await join(key, 'Ada Lovelace', { context: { viewport: view } });
  const bo = await join(key, 'Bo Chen', { context: { viewport: view } });
  const cy = await join(key, 'Cy Okafor', { context: { viewport: view } });
  const author = (p) => p.page.evaluate(() => localStorage.getItem('tandem.author'));
  const [boId, cyId] = [await author(bo), await author(cy)];
  await ada.caretAtEnd();
  await ada.page.keyboard.insertText(TEXT);
  await converge(server, key, [ada, bo, cy]);
  await server.api('POST', `/api/docs/${encodeURIComponent(key)}/versions`, { rev: 1, name: 'First draft' });
  const edit = async (who, find, text) => {
    const cur = (await server.doc(key)).text;
    const from = cur.indexOf(find);
    if (from < 0) throw new Error(`no ${JSON.stringify(find)} in the text`);
    await server.api('POST', `/api/docs/${encodeURIComponent(key)}/edit`, { replace: { from, to: from + find.length, text }, author: who });
  };
  await edit(boId, 'book a table', 'Bo booked Tasca do Chico for 8 pm');
  await edit(cyId, '- Sunset at the LX Factory', '- Sunset at the Miradouro da Senhora do Monte\n- Time Out Market for a late snack');
  await edit(boId, 'Sintra on day 3 or 4?', 'Sintra on day 3 (Pena Palace tickets: Cy)');
  await edit(cyId, '- Who books the train?', '- Train: 9:11 from Rossio, Cy books');
  await converge(server, key, [ada, bo, cy]);
  return { key, ada, bo, cy };
}

test('screenshot of the history panel', async ({ server, join, browser }) => {
  const VIEW_H = { width: 1240, height: 760 };
  const { ada } = await writeTrip(server, join, VIEW_H);
  await ada.page.getByTestId('history-toggle').click();
  await expect(ada.page.getByTestId('history-rev')).toContainText('Current version');
  await ada.page.getByTestId('history-version').click();
  await expect(ada.page.getByTestId('history-text')).toHaveAttribute('data-rev', '1');
  await expect(ada.page.getByTestId('history-named')).toHaveText('First draft');
  await expect(ada.page.locator('.cm-hist-added').first()).toBeVisible();
  await ada.page.getByTestId('history-slider').focus();
  await ada.page.evaluate(() => window.scrollTo(0, 0));
  await frame(browser, await ada.page.screenshot(), VIEW_H, 'The history panel: the first draft, with what has changed since', 'history.png');
});

test('screenshot of who wrote this', async ({ server, join, browser }) => {
  const VIEW_A = { width: 900, height: 700 };
  const { ada } = await writeTrip(server, join, VIEW_A);
  await ada.page.getByTestId('authors-toggle').click();
  await expect(ada.page.getByTestId('author-item')).toHaveCount(3);
  await expect(ada.page.locator('.cm-author').first()).toBeVisible();
  await ada.page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  await frame(browser, await ada.page.screenshot(), VIEW_A, 'Who wrote this: the text coloured by its authors', 'authorship.png');
});
