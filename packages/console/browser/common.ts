// Loaded on every console page. Page bundles import what they need from here.

/** The session's CSRF token, for fetch() writes (htmx sends it itself through hx-headers). */
export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

export function csrfHeaders(): Record<string, string> {
  return { 'X-CSRF-Token': csrfToken() };
}

/** Announces a short message to screen readers and shows it in the page's status line. */
export function announce(message: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}

// Copy buttons: <button data-copy="#id-of-input">Copy</button>
document.addEventListener('click', (event) => {
  const button = (event.target as Element | null)?.closest<HTMLButtonElement>('button[data-copy]');
  if (!button) return;
  const source = document.querySelector<HTMLInputElement>(button.dataset.copy!);
  if (!source) return;
  const text = source.value ?? source.textContent ?? '';
  const done = (): void => {
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  };
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => select(source));
  else select(source);
});

function select(input: HTMLInputElement): void {
  input.focus();
  input.select();
}
