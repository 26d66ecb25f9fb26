// Several people editing one document at the same time.
const { test, expect, converge, mangled, editKey } = require('./fixtures');

// caretInPage runs in the page: where the remote caret of client id sits,
// as a UTF-16 offset in the document (from its place among the editor's
// lines) and as geometry next to the character before it.
function caretInPage(id) {
  const content = document.querySelector('.cm-content');
  const caret = content.querySelector(`.cm-remote-caret[data-client="${CSS.escape(id)}"]`);
  if (!caret) return null;
  const lines = [...content.children].filter((el) => el.classList.contains('cm-line'));
  let offset = 0;
  let found = null;
  // Text nodes with their document offsets, for the geometry below.
  const texts = [];
  const walk = (node) => {
    for (const c of node.childNodes) {
      if (found !== null) return;
      if (c === caret) {
        found = offset;
        return;
      }
      if (c.nodeType === Node.TEXT_NODE) {
        texts.push({ node: c, start: offset });
        offset += c.data.length;
      } else if (c.nodeType === Node.ELEMENT_NODE) {
        if (c.classList.contains('cm-remote-caret') || c.classList.contains('cm-widgetBuffer') || c.tagName === 'BR') continue;
        walk(c);
      }
    }
  };
  for (const [i, line] of lines.entries()) {
    if (i > 0) offset += 1; // the "\n" between lines
    walk(line);
    if (found !== null) break;
  }
  if (found === null) return null;
  const box = caret.getBoundingClientRect();
  const out = { offset: found, caretX: (box.left + box.right) / 2, caretTop: box.top, caretBottom: box.bottom, charRight: null };
  // The character just before the caret: its right edge is where the caret
  // belongs.
  const t = texts.reverse().find((x) => x.start < found && found <= x.start + x.node.data.length);
  if (t) {
    const range = document.createRange();
    range.setStart(t.node, found - t.start - 1);
    range.setEnd(t.node, found - t.start);
    const rects = range.getClientRects();
    const r = rects[rects.length - 1];
    out.charRight = r.right;
    out.charTop = r.top;
    out.charBottom = r.bottom;
  }
  return out;
}

// labelText is the name a remote caret's label shows, whether it is the
// label's text or CSS generated content (which keeps it out of the
// editable DOM).
function labelText(locator) {
  return locator.evaluate((el) => {
    const pseudo = (which) => {
      const c = getComputedStyle(el, which).content;
      return c && c !== 'none' && c !== 'normal' ? c.replace(/^"(.*)"$/, '$1') : '';
    };
    return el.textContent.trim() || pseudo('::before') || pseudo('::after');
  });
}

async function expectCaretAt(page, id, offset) {
  await expect.poll(async () => (await page.evaluate(caretInPage, id))?.offset ?? null, { message: 'remote caret offset' }).toBe(offset);
  const g = await page.evaluate(caretInPage, id);
  expect(g.charRight, 'a character precedes the caret').not.toBeNull();
  // The caret is a 2px border centred on the boundary between characters.
  expect(Math.abs(g.caretX - g.charRight), `caret x ${g.caretX} vs character edge ${g.charRight}`).toBeLessThanOrEqual(3);
  expect(g.caretTop < g.charBottom && g.caretBottom > g.charTop, 'caret on the character’s line').toBe(true);
}

test('two people typing at the same place at the same time end with the same text', async ({ server, join }) => {
  const doc = await server.createDoc('Same place');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');
  await a.caretAtEnd();
  await a.page.keyboard.type('hello world');
  await converge(server, key, [a, b]);

  await Promise.all([a.caretAt(5), b.caretAt(5)]);
  const typedA = '1234567890';
  const typedB = 'ABCDEFGHIJ';
  await Promise.all([a.page.keyboard.type(typedA, { delay: 25 }), b.page.keyboard.type(typedB, { delay: 25 })]);

  const text = await converge(server, key, [a, b]);
  // Both runs landed between "hello" and " world", each in its own order.
  expect(text.replace(/[0-9A-Z]/g, '')).toBe('hello world');
  expect(text.slice(0, 5)).toBe('hello');
  expect(text.slice(-6)).toBe(' world');
  expect(text.replace(/[^0-9]/g, '')).toBe(typedA);
  expect(text.replace(/[^A-Z]/g, '')).toBe(typedB);
  await expect.poll(() => a.shown()).toBe(text);
  await expect.poll(() => b.shown()).toBe(text);
  expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
});

test('a person’s caret and name appear at the right place for the others and follow their edits', async ({ server, join }) => {
  const doc = await server.createDoc('Carets');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');
  await expect(b.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toContainText('Ada');
  await expect(a.page.locator(`[data-testid="person"][data-client="${b.id}"]`)).toContainText('Bo');

  await a.caretAtEnd();
  await a.page.keyboard.type('The quick brown fox');
  await converge(server, key, [a, b]);
  await a.caretAt(10); // before "brown"

  const caret = b.page.locator(`.cm-remote-caret[data-client="${a.id}"]`);
  await expect(caret).toHaveCount(1);
  await expect.poll(() => labelText(caret.locator('.cm-remote-label'))).toBe('Ada');
  await expect(caret.locator('.cm-remote-label')).toBeVisible();
  await expectCaretAt(b.page, a.id, 10);

  // Bo types before Ada's caret: it moves right by as much.
  await b.caretAt(4);
  await b.page.keyboard.type('very ');
  await converge(server, key, [a, b]);
  await expectCaretAt(b.page, a.id, 15);

  // Ada's own caret moved too: what she types lands at the same place.
  await a.page.keyboard.type('X');
  const text = await converge(server, key, [a, b]);
  expect(text).toBe('The very quick Xbrown fox');
  await expectCaretAt(b.page, a.id, 16);
  await expect.poll(() => b.shown()).toBe(text);

  // Ada moves to the end, then leaves: her caret follows, then disappears.
  await a.page.keyboard.press('End');
  await expectCaretAt(b.page, a.id, text.length);
  await a.page.close();
  await expect(caret).toHaveCount(0);
  await expect(b.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toHaveCount(0);
  expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
});

// A seeded generator, so that a failing run can be replayed (the seed is
// in the test's annotations).
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// One code point each (astral ones are two UTF-16 units), none combining,
// so that Backspace removes exactly one of them.
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz', 'é', 'ß', '中', '文', '字', '汉', '語', '😀', '🎉', '🚀', '𝄞', '🦊'];

function countCodePoints(s, into = new Map()) {
  for (const c of s) if (!/\s/.test(c)) into.set(c, (into.get(c) ?? 0) + 1);
  return into;
}

test('three people typing random text with emoji and Chinese for 10 seconds converge, nothing mangled', async ({ server, join }, testInfo) => {
  test.setTimeout(120_000);
  const seed = Number(process.env.E2E_SEED) || Date.now() % 1_000_000;
  testInfo.annotations.push({ type: 'seed', description: String(seed) });
  const doc = await server.createDoc('Random');
  const key = editKey(doc);
  const people = [await join(key, 'Ada'), await join(key, 'Bo'), await join(key, '陈 Chen')];
  for (const p of people) await p.caretAtEnd();

  const typed = new Map(); // code point -> times typed (whitespace aside)
  let removals = 0; // Backspace and Delete presses
  const until = Date.now() + 10_000;
  const steps = [0, 0, 0];
  const run = async (p, k) => {
    const random = rng(seed * 7 + k);
    const pick = (list) => list[Math.floor(random() * list.length)];
    for (let step = 0; step < 1000 && Date.now() < until; step++) {
      const r = random();
      steps[k]++;
      if (r < 0.6) {
        let s = '';
        const n = 1 + Math.floor(random() * 3);
        for (let i = 0; i < n; i++) s += pick(ALPHABET);
        if (random() < 0.3) s += ' ';
        await p.page.keyboard.type(s);
        countCodePoints(s, typed);
      } else if (r < 0.75) {
        await p.page.keyboard.press(pick(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'Control+End']));
      } else if (r < 0.9) {
        // One key, one character at most: typing over a selection is left
        // out, as a concurrent insertion at its edge may widen it.
        await p.page.keyboard.press(pick(['Backspace', 'Delete']));
        removals++;
      } else {
        await p.page.keyboard.press('Enter');
      }
      await p.page.waitForTimeout(random() * 40); // uneven pace, not an assertion
    }
  };
  await Promise.all(people.map((p, k) => run(p, k)));

  const text = await converge(server, key, people, 60_000);
  expect(mangled(text)).toEqual([]);
  for (const p of people) {
    expect(mangled(await p.text())).toEqual([]);
    await expect.poll(() => p.shown()).toBe(text);
  }
  // Nothing was duplicated, and no more was lost than was deleted.
  const final = countCodePoints(text);
  await testInfo.attach('counts.json', {
    body: JSON.stringify({ seed, removals, typed: Object.fromEntries(typed), final: Object.fromEntries(final), text }, null, 1),
    contentType: 'application/json',
  });
  let missing = 0;
  for (const [c, n] of final) expect(n, `count of ${c}`).toBeLessThanOrEqual(typed.get(c) ?? 0);
  for (const [c, n] of typed) missing += n - (final.get(c) ?? 0);
  expect(missing).toBeLessThanOrEqual(removals);
  let typedCount = 0;
  for (const n of typed.values()) typedCount += n;
  console.log(`random typing: seed ${seed}, steps ${steps}, ${typedCount} characters typed, ${removals} removals, ${text.length} units in the end`);
  expect(typedCount, 'characters typed in 10 s').toBeGreaterThan(30);
  for (const p of people) expect(p.resyncs()).toEqual([]);
});

test('undo in one page removes only that person’s last edit', async ({ server, join }) => {
  const doc = await server.createDoc('Undo');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');

  await a.caretAtEnd();
  await a.page.keyboard.type('alpha');
  await converge(server, key, [a, b]);
  await b.caretAtEnd();
  await b.page.keyboard.type(' beta');
  await converge(server, key, [a, b]);
  await a.caretAtEnd();
  await a.page.keyboard.type(' gamma');
  await converge(server, key, [a, b]);
  await b.caretAtEnd();
  await b.page.keyboard.type(' delta');
  expect(await converge(server, key, [a, b])).toBe('alpha beta gamma delta');

  // Ada's last edit goes; Bo's later edit stays.
  await a.editor.focus();
  await a.page.keyboard.press('Control+z');
  let text = await converge(server, key, [a, b]);
  expect(text).toBe('alpha beta delta');
  await expect.poll(() => b.shown()).toBe(text);

  // Then Ada's edit before it, still not Bo's.
  await a.page.keyboard.press('Control+z');
  text = await converge(server, key, [a, b]);
  expect(text).toBe(' beta delta');
  await expect.poll(() => a.shown()).toBe(text);

  // Redo brings Ada's edit back.
  await a.page.keyboard.press('Control+Shift+z');
  text = await converge(server, key, [a, b]);
  expect(text).toBe('alpha beta delta');
  await expect.poll(() => b.shown()).toBe(text);

  // Bo's undo takes his own last edit.
  await b.editor.focus();
  await b.page.keyboard.press('Control+z');
  text = await converge(server, key, [a, b]);
  expect(text).toBe('alpha beta');
  expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
});

// Typing over a selection that crosses a line break, next to other
// people's carets, lets the browser move the caret widgets' DOM; their name
// labels must not become document text. The trigger depends on timing (a
// presence update redrawing the carets around the keystroke), so it is
// tried many times while the others keep moving.
test('other people’s caret labels never become document text', async ({ server, join }) => {
  test.setTimeout(120_000);
  const doc = await server.createDoc('Labels');
  const key = editKey(doc);
  const a = await join(key, 'Ada');
  const b = await join(key, 'Bo');
  const c = await join(key, 'Chen');
  await a.caretAtEnd();
  await a.page.keyboard.type('abc');
  await a.page.keyboard.press('Enter');
  await converge(server, key, [a, b, c]);
  await b.caretAtEnd();
  await c.caretAtEnd();

  let stop = false;
  const wiggle = async (p) => {
    for (let i = 0; i < 2000 && !stop; i++) {
      await p.page.keyboard.press(i % 2 ? 'ArrowLeft' : 'ArrowRight');
      await p.page.waitForTimeout(15);
    }
  };
  const moving = Promise.all([wiggle(b), wiggle(c)]);
  const seen = [];
  try {
    for (let i = 0; i < 30; i++) {
      await a.caretAtEnd();
      await a.page.keyboard.press('Shift+ArrowLeft'); // the line break
      await a.page.keyboard.type('z');
      const text = await a.text();
      if (text !== 'abcz') seen.push(`attempt ${i + 1}: ${JSON.stringify(text)}`);
      await a.page.keyboard.press('Control+a');
      await a.page.keyboard.type('abc');
      await a.page.keyboard.press('Enter');
    }
  } finally {
    stop = true;
    await moving;
  }
  expect(seen).toEqual([]);
  const text = await converge(server, key, [a, b, c]);
  expect(text).toBe('abc\n');
});
