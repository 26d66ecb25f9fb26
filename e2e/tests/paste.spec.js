// A large paste travels as one op of about 100 KB.
const { test, expect, converge, mangled, editKey } = require('./fixtures');

function bigText(units) {
  const lines = [];
  let n = 0;
  for (let i = 1; n < units; i++) {
    const line = `${String(i).padStart(5, '0')} The quick brown fox jumps over the lazy dog. 敏捷的棕色狐狸 😀 ${'·'.repeat(i % 17)}`;
    lines.push(line);
    n += line.length + 1;
  }
  lines.push('END-OF-PASTE');
  return lines.join('\n');
}

test('a 100 KB paste reaches the other page and the server', async ({ server, join }) => {
  const doc = await server.createDoc('Paste');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { context: { permissions: ['clipboard-read', 'clipboard-write'] } });
  const b = await join(key, 'Bo');
  await b.caretAtEnd();
  await b.page.keyboard.type('Bo was here.\n');
  await converge(server, key, [a, b]);

  const big = bigText(100_000);
  expect(big.length).toBeGreaterThanOrEqual(100_000);
  // A real paste: the text goes through the clipboard and Control+V.
  await a.caretAtEnd();
  await a.page.evaluate((t) => navigator.clipboard.writeText(t), big);
  await a.page.keyboard.press('Control+v');

  const text = await converge(server, key, [a, b], 60_000);
  expect(text.length).toBe('Bo was here.\n'.length + big.length);
  expect(text === `Bo was here.\n${big}`, 'the server has exactly the pasted text after Bo’s line').toBe(true);
  expect(mangled(text)).toEqual([]);
  // Bo's page shows the end of the paste, and he can keep editing.
  await b.caretAtEnd();
  await expect(b.page.locator('.cm-line', { hasText: 'END-OF-PASTE' })).toBeVisible();
  await b.page.keyboard.type(' (done)');
  const after = await converge(server, key, [a, b]);
  expect(after.endsWith('END-OF-PASTE (done)')).toBe(true);
  await expect(a.page.locator('.cm-line', { hasText: 'END-OF-PASTE (done)' })).toBeVisible();
  await expect(a.status).toHaveAttribute('data-pending', '0');
  expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
});
