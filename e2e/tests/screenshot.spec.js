// Writes docs/screenshot.png: two people editing one document, their two
// browser windows side by side, each showing the other's caret and name.
// Only run on request (SCREENSHOT=1 npx playwright test screenshot); the
// config leaves this file out otherwise, so test runs change no tracked file.
const path = require('node:path');
const { test, expect, converge, editKey } = require('./fixtures');

const TEXT = `# Lisbon trip, 12–15 May

## Day 1 · Alfama
- Tram 28 from Martim Moniz (go early, it fills up)
- Castelo de São Jorge, then down to the Miradouro de Santa Luzia
- Dinner: fado at a tasca, book a table

## Day 2 · Belém
- Pastéis de nata at the old bakery in Belém
- Jerónimos Monastery, Padrão dos Descobrimentos
- Sunset at the LX Factory

## To decide
- Sintra on day 3 or 4?
- Who books the train?`;

const VIEW = { width: 760, height: 600 };

// toLine puts a person's caret at the end of a line (0-based), or after
// `col` characters of it, moving by lines as a person would.
async function toLine(p, line, col = null) {
  await p.editor.click();
  await p.page.keyboard.press('Control+Home');
  for (let i = 0; i < line; i++) await p.page.keyboard.press('ArrowDown');
  await p.page.keyboard.press(col === null ? 'End' : 'Home');
  for (let i = 0; i < (col ?? 0); i++) await p.page.keyboard.press('ArrowRight');
}

test('screenshot of two people editing', async ({ server, join, browser }) => {
  const doc = await server.createDoc('Lisbon trip');
  const key = editKey(doc);
  const a = await join(key, 'Ada Lovelace', { context: { viewport: VIEW } });
  const b = await join(key, 'Bo Chen', { context: { viewport: VIEW } });
  await a.caretAtEnd();
  await a.page.keyboard.insertText(TEXT);
  await converge(server, key, [a, b]);

  // Ada is writing in Day 2; Bo has added a note and selected "Sintra".
  const lines = TEXT.split('\n');
  await toLine(a, lines.indexOf('- Jerónimos Monastery, Padrão dos Descobrimentos'));
  await a.page.keyboard.type(', MAAT');
  await toLine(b, lines.indexOf('- Who books the train?'));
  await b.page.keyboard.type(' Bo does');
  const text = await converge(server, key, [a, b]);
  expect(text).toContain('Padrão dos Descobrimentos, MAAT\n');
  expect(text.endsWith('train? Bo does')).toBe(true);
  await toLine(b, lines.indexOf('- Sintra on day 3 or 4?'), 2);
  await b.page.keyboard.press('Control+Shift+ArrowRight');
  await expect(a.page.locator('.cm-remote-selection')).toHaveCount(1);
  await expect(a.page.locator(`.cm-remote-caret[data-client="${b.id}"]`)).toBeVisible();
  await expect(b.page.locator(`.cm-remote-caret[data-client="${a.id}"]`)).toBeVisible();

  const shots = [];
  for (const p of [a, b]) {
    await p.page.evaluate(() => window.scrollTo(0, 0));
    shots.push((await p.page.screenshot()).toString('base64'));
  }

  const context = await browser.newContext({ viewport: { width: VIEW.width * 2 + 72, height: VIEW.height + 96 }, deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#e9ecf1;font:600 14px system-ui,sans-serif;color:#4a5261">
      <div style="display:flex;gap:24px;padding:20px 24px 28px">
        ${shots
          .map(
            (s, i) => `<figure style="margin:0">
              <figcaption style="margin:0 0 10px 2px">${i === 0 ? 'Ada’s browser' : 'Bo’s browser'}</figcaption>
              <img src="data:image/png;base64,${s}" width="${VIEW.width}" height="${VIEW.height}"
                style="display:block;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.10)">
            </figure>`,
          )
          .join('')}
      </div></body></html>`);
    await page.screenshot({ path: path.resolve(__dirname, '../../docs/screenshot.png') });
  } finally {
    await context.close();
  }
});
