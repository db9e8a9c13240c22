// Loads the app's wasm (a file, not an inline script, so the CSP needs no 'unsafe-inline').
import init from '/pkg/app.js';
await init({ module_or_path: '/pkg/app_bg.wasm' });
