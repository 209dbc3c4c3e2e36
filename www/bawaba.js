// Bawaba loader: defines <bawaba-checkout> and boots the wasm widget (widget/src/lib.rs).
// Embed with one tag:  <script type="module" src="https://YOUR-EDGE/bawaba.js"></script>
// This file is a template: the build (xtask/src/build.rs) replaces the placeholder below with
// the widget's content-hashed file names, which browsers may cache for good.
const files = __BAWABA_WIDGET_FILES__;
const base = new URL(".", import.meta.url).href;
let widget;
function load() {
  widget ??= (() => {
    // The wasm downloads while the glue does, not after it.
    const wasm = fetch(new URL(files.wasm, base));
    return import(new URL(files.glue, base).href).then(async (m) => {
      await m.default({ module_or_path: wasm });
      return m;
    });
  })();
  return widget;
}
class BawabaCheckout extends HTMLElement {
  static observedAttributes = ["intent", "lang", "edge", "method"];
  #pending;
  // Callbacks that come together (an upgrade calls attributeChanged, then connected) make one
  // mount, with the element's state and attributes as they are by then.
  #sync() {
    this.#pending ??= load().then((m) => {
      this.#pending = undefined;
      if (this.isConnected) m.mount(this, base); else m.unmount(this);
    });
  }
  connectedCallback() { this.#sync(); }
  disconnectedCallback() { this.#sync(); }
  attributeChangedCallback() { if (this.isConnected) this.#sync(); }
}
if (!customElements.get("bawaba-checkout")) customElements.define("bawaba-checkout", BawabaCheckout);
