// A small XML well-formedness check for the SVG the reports write (no XML parser in the
// dependencies): balanced and properly nested tags, quoted attributes, known entities,
// no stray `<` or `&` in text, one root element.
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml)) !== null) {
    if (m[0] === '<') problems.push(`stray or malformed tag at ${m.index}: ${xml.slice(m.index, m.index + 40)}`);
    else if (m[0] === '&') problems.push(`unescaped & at ${m.index}`);
    else if (m[1] === '/') {
      const open = stack.pop();
      if (open !== m[2]) problems.push(`</${m[2]}> closes <${open ?? 'nothing'}> at ${m.index}`);
    } else {
      if (stack.length === 0) roots++;
      if (m[4] !== '/') stack.push(m[2]);
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
