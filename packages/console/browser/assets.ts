// The Assets page's islands: the transform builder, keyboard handling of the details panel, and
// drag-and-drop uploads of files and folders with per-file progress.
import { announce, csrfHeaders } from './common.js';

declare const htmx: { ajax(verb: string, url: string, spec: { target: string; swap: string }): Promise<void> } | undefined;

// ---- details panel ----

document.body.addEventListener('htmx:afterSwap', (event) => {
  const target = (event as CustomEvent<{ target: Element }>).detail.target;
  if (target.id === 'details') {
    target.querySelector<HTMLElement>('#details-title')?.focus();
    updateTransform();
  }
});

let lastCard: HTMLElement | null = null;
document.addEventListener('click', (event) => {
  const card = (event.target as Element).closest<HTMLElement>('.card a');
  if (card) lastCard = card;
  const close = (event.target as Element).closest<HTMLElement>('[data-close-details]');
  if (close) {
    event.preventDefault();
    closeDetails();
  }
});

function closeDetails(): void {
  const panel = document.getElementById('details');
  if (!panel) return;
  panel.replaceChildren();
  const hint = document.createElement('p');
  hint.className = 'hint';
  hint.textContent = 'Select an asset to see and edit its details.';
  panel.append(hint);
  lastCard?.focus();
}

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  const panel = document.getElementById('details');
  if (panel && panel.contains(document.activeElement) && panel.querySelector('.panel')) closeDetails();
});

// ---- transform builder ----

function updateTransform(): void {
  const box = document.querySelector<HTMLElement>('fieldset.transform');
  if (!box) return;
  const url = new URL(box.dataset.cdn!);
  for (const input of box.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-param]')) {
    const value = input.value.trim();
    if (value) url.searchParams.set(input.dataset.param!, value);
    else url.searchParams.delete(input.dataset.param!);
  }
  const out = document.querySelector<HTMLInputElement>('#url-cdn');
  const open = document.querySelector<HTMLAnchorElement>('#url-cdn-open');
  if (out) out.value = url.toString();
  if (open) open.href = url.toString();
}
document.addEventListener('input', (event) => {
  if ((event.target as Element).closest('fieldset.transform')) updateTransform();
});
document.addEventListener('change', (event) => {
  if ((event.target as Element).closest('fieldset.transform')) updateTransform();
});

// ---- uploads ----

interface Pending {
  file: File;
  /** Path inside a dropped folder ("photos/2024/a.jpg"), or just the name. */
  path: string;
}

async function entries(entry: FileSystemEntry, prefix: string, out: Pending[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, path: `${prefix}${file.name}` });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns a batch at a time; an empty batch ends the folder.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) await entries(child, `${prefix}${entry.name}/`, out);
  }
}

function uploadOne(item: Pending, folder: string, row: HTMLLIElement): Promise<boolean> {
  const bar = row.querySelector('progress')!;
  const state = row.querySelector<HTMLElement>('.state')!;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const url = `/ui/assets/upload?folder=${encodeURIComponent(folder)}&path=${encodeURIComponent(item.path)}`;
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    };
    xhr.onload = () => {
      let reply: { status?: string; msg?: string; hint?: string } = {};
      try {
        reply = JSON.parse(xhr.responseText) as typeof reply;
      } catch {
        // not JSON: the status line says enough
      }
      const ok = xhr.status === 200 && reply.status === 'success';
      bar.value = 100;
      state.textContent = ok ? 'uploaded' : `failed: ${reply.msg ?? xhr.statusText} ${reply.hint ?? ''}`;
      row.classList.add(ok ? 'ok' : 'failed');
      resolve(ok);
    };
    xhr.onerror = () => {
      state.textContent = 'failed: the console could not be reached';
      row.classList.add('failed');
      resolve(false);
    };
    const form = new FormData();
    form.append('file', item.file, item.file.name);
    xhr.send(form);
  });
}

async function upload(items: Pending[]): Promise<void> {
  const zone = document.getElementById('dropzone');
  const list = document.getElementById('uploads');
  if (!zone || !list || !items.length) return;
  const folder = zone.dataset.folder ?? '/';
  const rows = items.map((item) => {
    const row = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'file';
    name.textContent = item.path;
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `Upload of ${item.path}`);
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'waiting';
    row.append(name, bar, state);
    list.append(row);
    return row;
  });
  announce(`Uploading ${items.length} file${items.length === 1 ? '' : 's'} to ${folder}`);
  let next = 0;
  let done = 0;
  let failed = 0;
  // Three at a time: enough to keep the line busy, few enough to show steady progress.
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      rows[i]!.querySelector<HTMLElement>('.state')!.textContent = 'uploading';
      if (await uploadOne(items[i]!, folder, rows[i]!)) done++;
      else failed++;
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  announce(`${done} uploaded${failed ? `, ${failed} failed` : ''}`);
  const results = document.getElementById('results');
  if (results?.tagName === 'UL' && typeof htmx !== 'undefined')
    await htmx.ajax('GET', results.dataset.refresh!, { target: '#results', swap: 'innerHTML' });
  else if (done) location.reload(); // the empty state becomes a grid: the whole page is simplest
}

const zone = document.getElementById('dropzone');
if (zone) {
  // The whole page takes a drop; the zone shows where it goes.
  document.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    zone.classList.add('over');
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) zone.classList.remove('over');
  });
  document.addEventListener('drop', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    zone.classList.remove('over');
    const items = [...event.dataTransfer.items].filter((i) => i.kind === 'file');
    const roots = items.map((i) => i.webkitGetAsEntry?.() ?? null);
    const files = [...event.dataTransfer.files];
    void (async () => {
      const pending: Pending[] = [];
      if (roots.every((r) => r !== null)) for (const root of roots) await entries(root!, '', pending);
      else for (const file of files) pending.push({ file, path: file.name });
      await upload(pending);
    })();
  });
  for (const id of ['pick-files', 'pick-folder']) {
    document.getElementById(id)?.addEventListener('change', (event) => {
      const input = event.target as HTMLInputElement;
      const picked = [...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
      input.value = '';
      void upload(picked);
    });
  }
}
