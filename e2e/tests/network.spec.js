// Losing the network, and losing the server: edits typed meanwhile reach
// everyone exactly once when the connection comes back.
const { test, expect, converge, editKey } = require('./fixtures');

// expectEachSeqOnce checks the server's log: every (client, seq) applied
// once, and each client's seqs numbered 1, 2, 3, ... without a gap.
async function expectEachSeqOnce(server, docId) {
  const ops = await server.ops(docId);
  const seqs = new Map();
  for (const e of ops) {
    if (!seqs.has(e.client)) seqs.set(e.client, []);
    seqs.get(e.client).push(e.seq);
  }
  for (const [client, list] of seqs) {
    expect(list, `seqs of ${client}`).toEqual(list.map((_, i) => i + 1));
  }
  return ops;
}

const count = (text, part) => text.split(part).length - 1;

test('a person who goes offline keeps typing; the edits reach the others exactly once', async ({ server, join }) => {
  const doc = await server.createDoc('Offline');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { cuttable: true });
  const b = await join(key, 'Bo');
  await a.caretAtEnd();
  await a.page.keyboard.type('start.');
  await converge(server, key, [a, b]);

  // First the server's answers to Ada stop arriving: her next edit is
  // applied, but she never hears of it (one insertion, so one op)...
  a.network.dropDownstream = true;
  await a.page.keyboard.insertText(' acked-but-lost');
  await expect.poll(() => b.text()).toBe('start. acked-but-lost');
  expect((await a.state()).pending).toBeGreaterThan(0);

  // ...then her network goes away altogether, and she keeps typing.
  await a.context.setOffline(true);
  a.network.cut();
  await expect(a.status).toHaveAttribute('data-state', /^(reconnecting|offline)$/);
  await expect(b.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toHaveCount(0);
  await a.page.keyboard.type(' typed-offline');
  await a.page.keyboard.press('Enter');
  await a.page.keyboard.type('second line');
  await expect(a.status).not.toHaveAttribute('data-pending', '0');
  // Bo edits too, meanwhile.
  await b.caretAt(0);
  await b.page.keyboard.type('Bo: ');
  await expect.poll(() => b.text()).toBe('Bo: start. acked-but-lost');

  // Back online: Ada reconnects by herself.
  a.network.restore();
  await a.context.setOffline(false);
  await expect(a.status).toHaveAttribute('data-state', 'connected');
  await expect(a.status).toHaveAttribute('data-pending', '0');
  const text = await converge(server, key, [a, b]);
  expect(text).toBe('Bo: start. acked-but-lost typed-offline\nsecond line');
  expect(count(text, 'acked-but-lost')).toBe(1);
  expect(count(text, 'typed-offline')).toBe(1);
  await expect.poll(() => b.shown()).toBe(text);
  await expect.poll(() => a.shown()).toBe(text);
  await expect(b.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toHaveCount(1);
  await expectEachSeqOnce(server, key);
  expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
});

for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`pages reconnect by themselves after a server restart (${signal}), with every edit kept`, async ({ server, join }) => {
    const doc = await server.createDoc(`Restart ${signal}`);
    const key = editKey(doc);
    const a = await join(key, 'Ada');
    const b = await join(key, 'Bo');
    await a.caretAtEnd();
    await a.page.keyboard.type('before the restart.');
    await b.caretAtEnd();
    await b.page.keyboard.type(' Bo too.');
    const acked = await converge(server, key, [a, b]);
    expect(acked).toBe('before the restart. Bo too.');

    // Ada is typing when the server goes down: some of her edits are
    // acknowledged before, some are in flight, some typed while it is down.
    await a.caretAtEnd();
    const typed = ' typed-across-the-restart-of-the-server';
    const typing = a.page.keyboard.type(typed, { delay: 40 });
    await expect.poll(() => b.text(), { timeout: 10_000 }).toContain(' typed');
    const exit = await server.stop(signal);
    expect(exit.signal ?? exit.code).toBe(signal === 'SIGKILL' ? 'SIGKILL' : 0);
    await typing;
    await expect(a.status).toHaveAttribute('data-state', /^(reconnecting|offline)$/);
    await expect(b.status).toHaveAttribute('data-state', /^(reconnecting|offline)$/);
    // Bo edits while the server is down.
    await b.caretAt(0);
    await b.page.keyboard.type('[Bo] ');

    await server.start();
    await expect(a.status).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    await expect(b.status).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    const text = await converge(server, key, [a, b]);
    expect(text).toBe(`[Bo] ${acked}${typed}`);
    await expect.poll(() => a.shown()).toBe(text);
    await expect.poll(() => b.shown()).toBe(text);
    await expectEachSeqOnce(server, key);
    // Each sees the other again.
    await expect(b.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toHaveCount(1);
    await expect(a.page.locator(`[data-testid="person"][data-client="${b.id}"]`)).toHaveCount(1);
    expect([...a.resyncs(), ...b.resyncs()]).toEqual([]);
  });
}
