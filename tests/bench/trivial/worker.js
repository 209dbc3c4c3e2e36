// The baseline for `cargo xtask bench`: the smallest worker workerd can run.
export default {
  fetch() {
    return new Response('{"status":"ok"}', { headers: { "Content-Type": "application/json" } });
  },
};
