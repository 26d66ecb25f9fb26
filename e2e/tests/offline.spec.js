// Nothing lost, and an honest connection state: edits typed while the
// socket is down survive closing the page and reach the server exactly
// once when the document is opened again; an idle page whose connection
// died silently says "offline" within 30 s and offers to reconnect at once;
// a page the server refuses says why.
const { test, expect, converge, editKey } = require('./fixtures');

// eachSeqOnce checks the server's log: every (client, seq) applied once,
// each client's seqs numbered 1, 2, 3, ... without a gap.
async function expectEachSeqOnce(server, key) {
  const ops = await server.ops(key);
  const seqs = new Map();
  for (const e of ops) {
    if (!seqs.has(e.client)) seqs.set(e.client, []);
    seqs.get(e.client).push(e.seq);
  }
  for (const [client, list] of seqs) expect(list, `seqs of ${client}`).toEqual(list.map((_, i) => i + 1));
  return ops;
}

const count = (text, part) => text.split(part).length - 1;

test('edits typed while the socket is down survive closing the page and reach the server exactly once', async ({ server, join }) => {
  const doc = await server.createDoc('Kept');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { cuttable: true });
  await a.caretAtEnd();
  await a.page.keyboard.type('start.');
  await converge(server, key, [a]);

  // An edit the server applies but whose ack never arrives...
  a.network.dropDownstream = true;
  await a.page.keyboard.insertText(' acked-but-lost');
  await expect.poll(async () => (await server.doc(key)).text).toBe('start. acked-but-lost');
  // ...then the socket is cut and new ones are refused; Ada keeps typing.
  a.network.cut();
  await expect(a.status).not.toHaveAttribute('data-state', 'connected');
  await a.page.keyboard.type(' typed-offline');
  await a.page.keyboard.press('Enter');
  await a.page.keyboard.type('second line');
  const unsaved = a.page.getByTestId('unsaved');
  await expect(unsaved).toBeVisible();
  await expect(unsaved).toHaveText(/^\d+ edits not yet saved, they will be sent when you are back online\.$/);
  const pending = (await a.state()).pending;
  // Every edit is in the browser's database before the page goes.
  await expect.poll(() => a.page.evaluate(() => window.tandem.stored())).toBe(pending);
  await a.page.close();

  // Someone else edits meanwhile.
  const b = await join(key, 'Bo');
  await b.caretAt(0);
  await b.page.keyboard.type('Bo: ');
  await converge(server, key, [b]);

  // Ada opens the document again, with the network back: the stored edits
  // are sent once.
  a.network.restore();
  a.page = await a.context.newPage();
  await a.open(a.network.url, key);
  await expect(a.status).toHaveAttribute('data-pending', '0');
  const text = await converge(server, key, [a, b]);
  expect(text).toBe('Bo: start. acked-but-lost typed-offline\nsecond line');
  expect(count(text, 'acked-but-lost')).toBe(1);
  expect(count(text, 'typed-offline')).toBe(1);
  await expectEachSeqOnce(server, key);
  await expect.poll(() => a.page.evaluate(() => window.tandem.stored())).toBe(0);
  // Opened once more: nothing is sent again.
  const rev = (await server.doc(key)).rev;
  await a.page.reload();
  await expect(a.status).toHaveAttribute('data-state', 'connected');
  expect((await server.doc(key)).rev).toBe(rev);
});

test('an idle page on a silently dead connection shows offline within 30 s, and reconnects at once on request', async ({ server, join }) => {
  const doc = await server.createDoc('Silent');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { cuttable: true });
  await a.caretAtEnd();
  await a.page.keyboard.type('hello');
  await converge(server, key, [a]);

  // Nothing passes any more, and nothing is closed: the page must notice by
  // itself.
  const started = Date.now();
  a.network.stall();
  await expect(a.status).toHaveAttribute('data-state', 'offline', { timeout: 30_000 });
  expect(Date.now() - started).toBeLessThan(30_000);
  await expect(a.page.getByTestId('conn-why')).toContainText('stopped answering');
  const reconnect = a.page.getByRole('button', { name: 'Reconnect now' });
  await expect(reconnect).toBeVisible();

  a.network.restore();
  await reconnect.click();
  await expect(a.status).toHaveAttribute('data-state', 'connected', { timeout: 5_000 });
  await expect(a.page.getByTestId('conn-panel')).toBeHidden();
});

test.describe('with one socket per address', () => {
  test.use({ serverArgs: ['-max-sockets-per-ip', '1'] });

  test('a page the server refuses says why', async ({ server, join, browser }, testInfo) => {
    const doc = await server.createDoc('Limited');
    const key = editKey(doc);
    await join(key, 'Ada');
    const context = await browser.newContext({ viewport: testInfo.project.use.viewport });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/d/${encodeURIComponent(key)}`);
      const why = page.getByTestId('conn-why');
      await expect(why).toContainText('Too many connections from your address');
      await expect(why).toContainText(/Trying again in \d+ s\./);
      await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'reconnecting');
      await expect(page.getByTestId('status')).toContainText('Too many connections');
      await expect(page.getByRole('button', { name: 'Reconnect now' })).toBeVisible();
    } finally {
      await context.close();
    }
  });
});
