// The deployment's settings the console needs (GET /console/config.json).

let config = { temporal_ui_url: '', temporal_namespace: 'default' };

export async function loadConfig() {
  try {
    const resp = await fetch('/console/config.json', { cache: 'no-store', credentials: 'omit' });
    if (resp.ok) config = { ...config, ...(await resp.json()) };
  } catch {
    // Without it the console works; only the Temporal links are missing.
  }
}

// workflowSearchURL opens the Temporal Web UI on the workflows of one
// reference (the BankReference search attribute), or '' when the console
// does not know where the UI is. Only http(s) URLs are ever used.
export function workflowSearchURL(reference) {
  const base = config.temporal_ui_url;
  if (!/^https?:\/\//.test(base || '')) return '';
  const ns = encodeURIComponent(config.temporal_namespace || 'default');
  const query = encodeURIComponent(`BankReference="${String(reference).replace(/["\\]/g, '')}"`);
  return `${base}/namespaces/${ns}/workflows?query=${query}`;
}
