"""How tests and benchmarks start Debian's Chromium for Playwright (never `playwright install`), and
how they watch what the page receives on Gradio's event streams."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# For ``page.add_init_script`` (before the page loads): every chunk the page reads from Gradio's
# event streams, as text in ``window.__sse`` and its size in ``window.__sseBytes`` — also for a
# stream that is still open.
EVENT_STREAM_TAP = """(() => {
  window.__sse = [];
  window.__sseBytes = 0;
  const f = window.fetch;
  window.fetch = async (...a) => {
    const r = await f(...a);
    const url = String((a[0] && a[0].url) || a[0]);
    if (!url.includes('/queue/data') || !r.body) return r;
    const dec = new TextDecoder();
    const tap = new TransformStream({transform(chunk, ctl) {
      window.__sseBytes += chunk.byteLength;
      window.__sse.push(dec.decode(chunk, {stream: true}));
      ctl.enqueue(chunk); }});
    return new Response(r.body.pipeThrough(tap), {headers: r.headers, status: r.status, statusText: r.statusText});
  };
})();"""
