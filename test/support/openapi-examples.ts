/** One example of an OpenAPI document and the schema it must satisfy. */
export interface DocumentExample {
  /** Where the example is (a JSON Pointer), for messages. */
  at: string;
  /** The JSON Pointer of the schema it must be valid against. */
  schemaPointer: string;
  value: unknown;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every example a document holds: `example` and `examples.*.value` of media
 * types, parameters and headers (checked against their `schema`), and
 * `example` of schemas (checked against the schema itself). Example values
 * themselves are not searched for further examples.
 */
export function documentExamples(document: Json): DocumentExample[] {
  const found: DocumentExample[] = [];
  const walk = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${pointer}/${i}`));
      return;
    }
    if (!isObject(node)) return;
    const hasSchema = isObject(node.schema);
    const schemaPointer = hasSchema ? `${pointer}/schema` : pointer;
    if ('example' in node) found.push({ at: `${pointer}/example`, schemaPointer, value: node.example });
    if (hasSchema && isObject(node.examples)) {
      for (const [name, example] of Object.entries(node.examples)) {
        if (isObject(example) && 'value' in example) found.push({ at: `${pointer}/examples/${escape(name)}`, schemaPointer, value: example.value });
      }
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === 'example' || (key === 'examples' && hasSchema)) continue;
      walk(child, `${pointer}/${escape(key)}`);
    }
  };
  walk(document, '');
  return found;
}
