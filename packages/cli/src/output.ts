/** One line (or block) of a command's result on stdout: what a person reads, or a script parses. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
