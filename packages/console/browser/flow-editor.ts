// The flow editor: CodeMirror 6 with YAML highlighting and lint markers at the line and column of
// each problem, checked by the server with the validator of `sfx flow validate` as you type. The
// textarea stays the form's field (kept in step with the editor), so Check and Save post it, and
// the page works as a plain textarea if this script does not load.
//
// The editor lives in a shadow root: CodeMirror then brings its styles as constructed stylesheets
// (adoptedStyleSheets), which the CSP's `style-src 'self'` allows, instead of <style> elements,
// which it forbids. Our own look for it is therefore a CodeMirror theme here, not console.css.
import { basicSetup, EditorView } from 'codemirror';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import type { EditorState } from '@codemirror/state';

interface Problem {
  line: number;
  column: number;
  path: string;
  message: string;
}

function csrf(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

function position(state: EditorState, line: number, column: number): number {
  const at = state.doc.line(Math.min(Math.max(line, 1), state.doc.lines));
  return Math.min(at.from + Math.max(column - 1, 0), at.to);
}

function diagnostics(state: EditorState, problems: Problem[]): Diagnostic[] {
  return problems.map((p) => {
    const from = position(state, p.line, p.column);
    const rest = state.doc.sliceString(from, state.doc.lineAt(from).to);
    const word = /^[^\s,}\]]+/.exec(rest)?.[0].length ?? 0;
    return {
      from,
      to: from + word,
      severity: 'error',
      message: `${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`,
    };
  });
}

const look = EditorView.theme({
  '&': {
    border: '1px solid #8c959f',
    borderRadius: '6px',
    minHeight: '20rem',
    maxHeight: '70vh',
    fontSize: '0.92rem',
    background: '#ffffff',
    color: '#1b1f24',
  },
  '&.cm-focused': { outline: '3px solid #0b5cad', outlineOffset: '2px' },
  '.cm-scroller': { overflow: 'auto', fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
  '.cm-gutters': { background: '#f6f8fa', color: '#57606a', borderRight: '1px solid #d0d7de' },
});

function mount(host: HTMLElement): void {
  const textarea = host.querySelector<HTMLTextAreaElement>('textarea');
  if (!textarea?.form) return;
  const form = textarea.form;
  const fileName = (): string => (form.elements.namedItem('file') as HTMLInputElement | null)?.value ?? '';

  const check = async (view: EditorView): Promise<Diagnostic[]> => {
    const text = view.state.doc.toString();
    const response = await fetch('/ui/flows/check', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify({ text, file: fileName() }),
    });
    if (!response.ok || view.state.doc.toString() !== text) return [];
    const result = (await response.json()) as { problems: Problem[] };
    host.dataset.problems = String(result.problems.length);
    return diagnostics(view.state, result.problems);
  };

  const holder = document.createElement('div');
  holder.className = 'cm-host';
  const shadow = holder.attachShadow({ mode: 'open' });
  textarea.insertAdjacentElement('afterend', holder);
  const view = new EditorView({
    doc: textarea.value,
    root: shadow,
    parent: shadow,
    extensions: [
      basicSetup,
      look,
      yaml(),
      lintGutter(),
      linter(check, { delay: 350 }),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ 'aria-label': 'Flow YAML', 'aria-describedby': 'flow-result' }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
    ],
  });
  textarea.hidden = true;
  host.classList.add('enhanced');

  // A problem in the list moves the cursor to its line and column.
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest<HTMLAnchorElement>('a.at[data-line]');
    if (!link) return;
    event.preventDefault();
    const at = position(view.state, Number(link.dataset.line), Number(link.dataset.column));
    view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
    view.focus();
  });
  // Check and Save answers carry their problems: mark them in the editor at once.
  document.body.addEventListener('htmx:afterSwap', () => {
    const holder = document.querySelector<HTMLElement>('#flow-result [data-problems]');
    const problems = holder ? (JSON.parse(holder.dataset.problems ?? '[]') as Problem[]) : [];
    view.dispatch(setDiagnostics(view.state, diagnostics(view.state, problems)));
  });
}

for (const host of document.querySelectorAll<HTMLElement>('[data-flow-editor]')) mount(host);
